//! Interpolated strings whose every part is a constant: a JS/TS template literal
//! (`` `${PREFIX}_clicked` ``) or a Python f-string (`f"{PREFIX}_clicked"`) whose
//! substitutions are plain (possibly qualified) names. Such a key resolves when every name
//! resolves to one value; anything else in a substitution (a call, an operator, a format
//! spec, a conversion) leaves the string dynamic, as does a name that does not resolve.

use crate::lang::{Family, Lang};
use crate::lexer::Token;

/// One piece of an interpolated string.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Part {
    /// Literal text, escapes decoded.
    Text(String),
    /// A substituted name, `.`-joined (`EVENTS.prefix`).
    Name(String),
}

/// The parts of an interpolated string token, when its language's syntax is understood
/// here (JS/TS template literals, Python f-strings) and every substitution is a name.
pub(crate) fn parts(src: &[u8], tok: &Token, lang: Lang) -> Option<Vec<Part>> {
    if tok.flags & crate::lexer::SPLICED != 0 {
        return None;
    }
    let body = &src[tok.body_start as usize..tok.body_end as usize];
    let opener = *src
        .get(tok.start as usize..tok.body_start as usize)?
        .last()?;
    // (the byte that opens a substitution after `$`, whether `$` is needed, `{{` escapes)
    let (dollar, doubled) = match lang.family() {
        Family::Js if opener == b'`' => (true, false),
        Family::Python => (false, true),
        _ => return None,
    };
    let mut out: Vec<Part> = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        let next = body.get(i + 1).copied();
        if c == b'\\' {
            // Python raw f-strings (`rf"…"`) keep backslashes; JS never has raw templates here.
            if tok.flags & crate::lexer::RAW != 0 {
                text.push(c);
                i += 1;
                continue;
            }
            let escaped = next?;
            text.push(match escaped {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                other => other,
            });
            i += 2;
            continue;
        }
        if doubled && (c == b'{' || c == b'}') && next == Some(c) {
            text.push(c);
            i += 2;
            continue;
        }
        let opens = if dollar {
            c == b'$' && next == Some(b'{')
        } else {
            c == b'{'
        };
        if !opens {
            if doubled && c == b'}' {
                return None; // a lone `}` is a syntax error in an f-string
            }
            text.push(c);
            i += 1;
            continue;
        }
        let inner_start = if dollar { i + 2 } else { i + 1 };
        let close = inner_start + body[inner_start..].iter().position(|&b| b == b'}')?;
        let name = std::str::from_utf8(&body[inner_start..close]).ok()?.trim();
        if !is_name(name) {
            return None;
        }
        if !text.is_empty() {
            out.push(Part::Text(
                String::from_utf8(std::mem::take(&mut text)).ok()?,
            ));
        }
        out.push(Part::Name(name.to_string()));
        i = close + 1;
    }
    if !text.is_empty() {
        out.push(Part::Text(String::from_utf8(text).ok()?));
    }
    Some(out)
}

/// `A`, `EVENTS.prefix`, `self.PREFIX`: identifiers joined by `.`.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|seg| {
            seg.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_' || c == '$')
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
}

/// An interpolated string some of whose names are not defined in its own file: what the
/// cross-file stage needs to finish it. Names the file defines are already spelled out as
/// text; each remaining name has where its import points (when it has one), in order.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Pending {
    /// The parts, names resolved within the file replaced by their values.
    pub parts: Vec<Part>,
    /// Per [`Part::Name`] in `parts`, in order: where its import points and the name to
    /// look up there.
    pub hints: Vec<Option<(crate::imports::Origin, String)>>,
    /// The dynamic reason when a name does not resolve to one value.
    pub reason: String,
    /// Go `fmt.Sprintf(Format, args…)` whose format is defined in another file: `parts` is
    /// the format's name alone, and these the arguments, whose names are looked up after it
    /// (`hints` has the format's, then theirs); the format is applied once it resolves
    /// ([`crate::extract::go_verbs`]).
    #[serde(default)]
    pub format_args: Option<Vec<crate::extract::Operand>>,
}

impl Pending {
    /// The names still to resolve, each with where its import points and the name to look
    /// up there (the name itself without an import).
    pub(crate) fn lookups(&self) -> impl Iterator<Item = (Option<&crate::imports::Origin>, &str)> {
        let arg_names = self.format_args.iter().flatten().filter_map(|a| match a {
            crate::extract::Operand::Name(n) => Some(n.as_str()),
            _ => None,
        });
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Name(n) => Some(n.as_str()),
                Part::Text(_) => None,
            })
            .chain(arg_names)
            .zip(&self.hints)
            .map(|(name, hint)| match hint {
                Some((origin, lookup)) => (Some(origin), lookup.as_str()),
                None => (None, name),
            })
    }
}

/// The string the parts spell when `value` gives each name's value; `None` as soon as a
/// name has none.
pub(crate) fn join(
    parts: &[Part],
    mut value: impl FnMut(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Name(n) => out.push_str(&value(n)?),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lexer::tokenize;

    fn first_str(src: &str, lang: Lang) -> Option<Vec<Part>> {
        let mut toks = Vec::new();
        tokenize(src.as_bytes(), lang, &mut toks);
        let t = toks
            .iter()
            .find(|t| t.kind == crate::lexer::Tk::Str)
            .expect("a string token");
        parts(src.as_bytes(), t, lang)
    }

    #[test]
    fn js_templates_of_names_split_into_parts() {
        assert_eq!(
            first_str("x(`${A}_clicked_${ EVENTS.b }`)", Lang::Ts),
            Some(vec![
                Part::Name("A".into()),
                Part::Text("_clicked_".into()),
                Part::Name("EVENTS.b".into()),
            ])
        );
        assert_eq!(first_str("x(`${a()}_x`)", Lang::Js), None);
        assert_eq!(first_str("x(`${a + b}`)", Lang::Js), None);
        assert_eq!(first_str("x(`${a ?? 'b'}`)", Lang::Js), None);
        assert_eq!(
            first_str("x(`a\\`b${C}`)", Lang::Js),
            Some(vec![Part::Text("a`b".into()), Part::Name("C".into())])
        );
    }

    #[test]
    fn python_f_strings_of_names_split_into_parts() {
        assert_eq!(
            first_str("x(f\"{PREFIX}_{{raw}}_{self.B}\")", Lang::Python),
            Some(vec![
                Part::Name("PREFIX".into()),
                Part::Text("_{raw}_".into()),
                Part::Name("self.B".into()),
            ])
        );
        assert_eq!(first_str("x(f\"{a!r}\")", Lang::Python), None);
        assert_eq!(first_str("x(f\"{a:>10}\")", Lang::Python), None);
        assert_eq!(first_str("x(f\"{a=}\")", Lang::Python), None);
        assert_eq!(
            first_str("x(f\"{user.kind}_event\")", Lang::Python).map(|p| p.len()),
            Some(2)
        );
    }

    #[test]
    fn other_languages_are_not_understood_here() {
        assert_eq!(first_str("x(\"#{A}_b\")", Lang::Ruby), None);
    }

    #[test]
    fn join_needs_every_name() {
        let p = vec![Part::Name("A".into()), Part::Text("_x".into())];
        assert_eq!(join(&p, |_| Some("a".into())), Some("a_x".into()));
        assert_eq!(join(&p, |_| None), None);
    }
}
