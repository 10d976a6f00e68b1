//! Notion IDs as people paste them: the one parser of every Notion ID kodo is given (the
//! config's database, data-source and page IDs; command-line options that take one).
//!
//! Accepted, and all turned into the canonical dashed, lower-case form
//! (`1f2e3d4c-5b6a-4798-8776-655443322110`), the form Notion's API returns:
//! - an ID, dashed or not, in any case;
//! - a page or database URL as Notion's "Copy link" gives it: `https://www.notion.so/<title
//!   slug>-<id>`, with or without the workspace (`https://www.notion.so/acme/…`), without a
//!   slug (`https://www.notion.so/<id>`), a database's view (`?v=<view id>`, the view is not
//!   the database and is ignored), a block anchor (`#<block id>`, ignored), a public page
//!   (`https://acme.notion.site/<slug>-<id>`), `notion.com` hosts, or without `https://`;
//! - a data source's URL as ph-sync-spec.md names it: `collection://<id>`.
//!
//! Refused, each with what to paste instead: a URL of another site, a URL with no ID, and a
//! row opened as a peek (`?p=<page id>`: two IDs, the database's and the row's; kodo does not
//! guess which one is meant).
//!
//! Sources: makenotion/notion-sdk-js, `src/helpers.ts` (`extractNotionId`, at 9060802): an ID
//! dashed or compact; the ID at the end of the path after the title slug's dash, preferred to
//! the query (`?v=` is a view's ID, not the database's); a `#block-<id>` fragment is a block.
//! The SDK falls back to `?p=` when the path has no slug and to any 32 hexadecimal digits;
//! kodo refuses a peek instead of choosing between its two IDs, and accepts only Notion's
//! hosts. `collection://<id>`: the data-source URL of ph-sync-spec.md (`data_source_url`).

/// Why a text is not a Notion ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("it is empty")]
    Empty,
    #[error(
        "`{0}` is not a Notion ID (32 hexadecimal characters, dashes optional) or a Notion URL"
    )]
    NotAnId(String),
    #[error("`{0}` is not a Notion URL (notion.so, notion.site or notion.com)")]
    OtherSite(String),
    #[error("the URL `{0}` has no Notion ID at the end of its path")]
    NoIdInUrl(String),
    #[error(
        "the URL `{0}` is of a row opened as a peek (`?p=`): it names both the database and the row"
    )]
    Peek(String),
}

impl IdError {
    /// What to paste instead.
    pub fn hint(&self) -> &'static str {
        match self {
            IdError::Peek(_) => {
                "open the page or database as a full page (⋯ → Open as page), then copy its link"
            }
            _ => {
                "paste the page's or database's link (⋯ → Copy link) or the 32 hexadecimal characters at its end"
            }
        }
    }
}

/// The canonical form of a Notion ID or of a Notion URL's ID.
pub fn parse(input: &str) -> Result<String, IdError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(IdError::Empty);
    }
    if let Some(id) = bare_id(text) {
        return Ok(id);
    }
    if let Some(rest) = strip_prefix_ignore_case(text, "collection://") {
        return bare_id(rest.trim_end_matches('/'))
            .ok_or_else(|| IdError::NoIdInUrl(text.to_string()));
    }
    let rest = match text.find("://") {
        Some(at) => {
            let scheme = text[..at].to_ascii_lowercase();
            if !matches!(scheme.as_str(), "https" | "http" | "notion") {
                return Err(IdError::OtherSite(text.to_string()));
            }
            &text[at + 3..]
        }
        // `www.notion.so/…` pasted without its scheme.
        None if text.contains('/') => text,
        None => return Err(IdError::NotAnId(text.to_string())),
    };
    let end_of_host = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = rest[..end_of_host]
        .rsplit('@')
        .next()
        .unwrap_or_default()
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !is_notion_host(&host) {
        return Err(IdError::OtherSite(text.to_string()));
    }
    let after_host = &rest[end_of_host..];
    let without_fragment = after_host.split('#').next().unwrap_or_default();
    let (path, query) = match without_fragment.split_once('?') {
        Some((path, query)) => (path, query),
        None => (without_fragment, ""),
    };
    let peek = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .any(|(name, value)| name == "p" && bare_id(value).is_some());
    if peek {
        return Err(IdError::Peek(text.to_string()));
    }
    let last = path.split('/').rfind(|s| !s.is_empty()).unwrap_or_default();
    id_at_end(last).ok_or_else(|| IdError::NoIdInUrl(text.to_string()))
}

fn strip_prefix_ignore_case<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

fn is_notion_host(host: &str) -> bool {
    ["notion.so", "notion.site", "notion.com"]
        .iter()
        .any(|domain| host == *domain || host.ends_with(&format!(".{domain}")))
}

/// The canonical form of `text` when it is exactly an ID: 32 hexadecimal digits, or the
/// dashed 8-4-4-4-12 form.
fn bare_id(text: &str) -> Option<String> {
    let digits: String = if text.len() == 36 {
        let dashes_at = [8, 13, 18, 23];
        let dashed = text
            .char_indices()
            .all(|(i, c)| (c == '-') == dashes_at.contains(&i));
        if !dashed {
            return None;
        }
        text.chars().filter(|c| *c != '-').collect()
    } else {
        text.to_string()
    };
    (digits.len() == 32 && digits.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| canonical(&digits.to_ascii_lowercase()))
}

/// The ID a URL's last path segment ends with: the segment itself, or the 32 digits after the
/// title slug's last dash.
fn id_at_end(segment: &str) -> Option<String> {
    if let Some(id) = bare_id(segment) {
        return Some(id);
    }
    let tail = segment.get(segment.len().checked_sub(32)?..)?;
    let before = &segment[..segment.len() - 32];
    (before.ends_with('-') || before.is_empty())
        .then(|| bare_id(tail))
        .flatten()
}

fn canonical(digits: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &digits[..8],
        &digits[8..12],
        &digits[12..16],
        &digits[16..20],
        &digits[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "1f2e3d4c-5b6a-4798-8776-655443322110";

    #[test]
    fn ids_dashed_or_not_in_any_case() {
        for text in [
            "1f2e3d4c5b6a47988776655443322110",
            "1F2E3D4C5B6A47988776655443322110",
            "1f2e3d4c-5b6a-4798-8776-655443322110",
            "  1f2e3d4c-5B6A-4798-8776-655443322110\n",
        ] {
            assert_eq!(parse(text).as_deref(), Ok(ID), "{text}");
        }
    }

    #[test]
    fn the_url_shapes_notion_gives() {
        for text in [
            // A page: workspace, title slug, ID.
            "https://www.notion.so/acme/Analytics-Home-1f2e3d4c5b6a47988776655443322110",
            // Without the workspace; a slug with dashes and digits of its own.
            "https://www.notion.so/Q4-2026-plan-v2-1f2e3d4c5b6a47988776655443322110",
            // No slug (an untitled page, a database).
            "https://www.notion.so/1f2e3d4c5b6a47988776655443322110",
            "https://notion.so/acme/1f2e3d4c5b6a47988776655443322110",
            // A database view: `?v=` is the view's ID, not the database's.
            "https://www.notion.so/acme/1f2e3d4c5b6a47988776655443322110?v=9a8b7c6d5e4f40312233445566778899",
            "https://www.notion.so/acme/Events-1f2e3d4c5b6a47988776655443322110?v=9a8b7c6d5e4f40312233445566778899&pvs=4",
            // A shared link's tracking parameter, a block anchor, a trailing slash.
            "https://www.notion.so/Analytics-Home-1f2e3d4c5b6a47988776655443322110?pvs=21",
            "https://www.notion.so/Analytics-Home-1f2e3d4c5b6a47988776655443322110#0a0b0c0d0e0f40112233445566778899",
            "https://www.notion.so/Analytics-Home-1f2e3d4c5b6a47988776655443322110#block-0a0b0c0d0e0f40112233445566778899",
            "https://www.notion.so/acme/Analytics-Home-1f2e3d4c5b6a47988776655443322110/",
            // A public page on notion.site, a notion.com host, the desktop app's scheme.
            "https://acme.notion.site/Analytics-Home-1f2e3d4c5b6a47988776655443322110",
            "https://www.notion.com/acme/Analytics-Home-1f2e3d4c5b6a47988776655443322110",
            "notion://www.notion.so/acme/Analytics-Home-1f2e3d4c5b6a47988776655443322110",
            // Without a scheme; with the dashed ID.
            "www.notion.so/acme/Analytics-Home-1f2e3d4c5b6a47988776655443322110",
            "https://www.notion.so/acme/1f2e3d4c-5b6a-4798-8776-655443322110",
            // A data source, as the API and Notion's MCP server name it.
            "collection://1f2e3d4c-5b6a-4798-8776-655443322110",
            "collection://1f2e3d4c5b6a47988776655443322110",
        ] {
            assert_eq!(parse(text).as_deref(), Ok(ID), "{text}");
        }
    }

    #[test]
    fn what_is_not_an_id_is_refused_with_what_to_paste() {
        assert_eq!(parse("  "), Err(IdError::Empty));
        assert!(matches!(parse("Analytics Home"), Err(IdError::NotAnId(_))));
        assert!(matches!(parse("db-events"), Err(IdError::NotAnId(_))));
        // 31 and 33 digits, a misplaced dash.
        assert!(parse("1f2e3d4c5b6a4798877665544332211").is_err());
        assert!(parse("1f2e3d4c5b6a479887766554433221100").is_err());
        assert!(parse("1f2e3d4c5-b6a-4798-8776-655443322110").is_err());
        assert!(matches!(
            parse("https://example.com/Analytics-Home-1f2e3d4c5b6a47988776655443322110"),
            Err(IdError::OtherSite(_))
        ));
        assert!(matches!(
            parse("https://notion.so.example.com/1f2e3d4c5b6a47988776655443322110"),
            Err(IdError::OtherSite(_))
        ));
        assert!(matches!(
            parse("https://www.notion.so/acme"),
            Err(IdError::NoIdInUrl(_))
        ));
        // The ID must end the slug: not digits run into the title.
        assert!(matches!(
            parse("https://www.notion.so/Plan1f2e3d4c5b6a47988776655443322110"),
            Err(IdError::NoIdInUrl(_))
        ));
        let peek = parse(
            "https://www.notion.so/acme/1f2e3d4c5b6a47988776655443322110?v=9a8b7c6d5e4f40312233445566778899&p=0a0b0c0d0e0f40112233445566778899&pm=s",
        )
        .unwrap_err();
        assert!(matches!(peek, IdError::Peek(_)));
        assert!(peek.hint().contains("Open as page"));
        let other = IdError::NotAnId("x".into());
        assert!(other.hint().contains("Copy link"));
    }
}
