//! Page content: block children, appends, updates and deletes, and pages under pages.
//!
//! Limits (developers.notion.com/reference/patch-block-children, /reference/request-limits):
//! at most 100 children per append ("Arrays of block children longer than 100 will result in
//! an error"), two levels of nesting per request, 1,000 block elements per payload. The
//! client splits a longer list into appends of at most [`MAX_CHILDREN_PER_APPEND`] top-level
//! blocks and [`MAX_ELEMENTS_PER_APPEND`] elements, each placed `after` the last block of the
//! previous one, so order is kept. Nesting deeper than two levels is the caller's to avoid:
//! [`nesting_depth`] says how deep a block goes.
//!
//! Settling (the shared rules of this client): an update or a delete whose outcome is
//! unknown is settled by reading the block back (an update sends the same content again,
//! which is harmless; a delete is done once the block reads `in_trash`); an append or a page
//! create whose outcome is unknown is never sent twice: it is an [`ApiError::AmbiguousWrite`]
//! (kodo's page writer finds its own blocks by their markers on the next run and repairs the
//! section), except that a 503 naming what was committed is read back.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{committed, failure_summary, Committed, NotionClient, PAGE_SIZE};
use crate::error::{ApiError, Result, Service};
use crate::http::{Access, Call, Failure, Settle};

/// Most top-level children one append sends (Notion's limit).
pub const MAX_CHILDREN_PER_APPEND: usize = 100;
/// Most block elements (children at every level) one append sends: "payloads have a maximum
/// size of 1000 block elements" (developers.notion.com/reference/request-limits).
pub const MAX_ELEMENTS_PER_APPEND: usize = 1000;
/// "For blocks that allow children, we allow up to two levels of nesting in a single request."
pub const MAX_NESTING: usize = 2;

/// A block as read (`GET /v1/blocks/{id}/children`, an append's answer, a retrieve).
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub id: String,
    /// The block type (`paragraph`, `heading_2`, `child_page`, …).
    pub kind: String,
    pub has_children: bool,
    pub in_trash: bool,
    /// The type's object (`block[kind]`), e.g. `{"rich_text": [...], "color": "default"}`.
    pub content: Value,
}

impl Block {
    /// The block's text: its `rich_text` (or a child page's or database's title), plain.
    pub fn plain_text(&self) -> String {
        if let Some(title) = self.content.get("title").and_then(Value::as_str) {
            return title.to_owned();
        }
        self.content
            .get("rich_text")
            .and_then(Value::as_array)
            .map(|runs| {
                runs.iter()
                    .filter_map(|r| {
                        r.get("plain_text")
                            .or_else(|| r.pointer("/text/content"))
                            .and_then(Value::as_str)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
struct RawBlock {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    has_children: bool,
    #[serde(default)]
    in_trash: Option<bool>,
    #[serde(default)]
    archived: Option<bool>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

impl From<RawBlock> for Block {
    fn from(raw: RawBlock) -> Self {
        let content = raw.rest.get(&raw.kind).cloned().unwrap_or(Value::Null);
        Block {
            in_trash: raw.in_trash.or(raw.archived).unwrap_or(false),
            id: raw.id,
            kind: raw.kind,
            has_children: raw.has_children,
            content,
        }
    }
}

#[derive(Deserialize)]
struct RawBlockList {
    results: Vec<RawBlock>,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: bool,
}

/// How many levels of `children` a block in request shape carries (0 for none).
pub fn nesting_depth(block: &Value) -> usize {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    block
        .get(kind)
        .and_then(|c| c.get("children"))
        .and_then(Value::as_array)
        .map(|children| 1 + children.iter().map(nesting_depth).max().unwrap_or(0))
        .unwrap_or(0)
}

/// The number of block elements in a block in request shape (itself and its children).
pub fn element_count(block: &Value) -> usize {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    1 + block
        .get(kind)
        .and_then(|c| c.get("children"))
        .and_then(Value::as_array)
        .map(|children| children.iter().map(element_count).sum())
        .unwrap_or(0)
}

/// Splits blocks into appends within Notion's limits, in order.
pub fn append_chunks(blocks: &[Value]) -> Vec<&[Value]> {
    let mut out = Vec::new();
    let (mut start, mut elements) = (0, 0);
    for (i, block) in blocks.iter().enumerate() {
        let n = element_count(block);
        if i > start
            && (i - start == MAX_CHILDREN_PER_APPEND || elements + n > MAX_ELEMENTS_PER_APPEND)
        {
            out.push(&blocks[start..i]);
            (start, elements) = (i, 0);
        }
        elements += n;
    }
    if start < blocks.len() {
        out.push(&blocks[start..]);
    }
    out
}

impl NotionClient {
    /// Every child of a page or block, in order (trashed ones are not listed by Notion).
    pub async fn list_children(&self, id: &str) -> Result<Vec<Block>> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut url = self.url(&["blocks", id, "children"]);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("page_size", &PAGE_SIZE.to_string());
                if let Some(c) = &cursor {
                    q.append_pair("start_cursor", c);
                }
            }
            let page: RawBlockList = self.read(Method::GET, url, None, "block", id).await?;
            out.extend(page.results.into_iter().map(Block::from));
            match page.next_cursor {
                Some(next) if page.has_more && !next.is_empty() => cursor = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// One block (a page reads as a `child_page` block).
    pub async fn retrieve_block(&self, id: &str) -> Result<Block> {
        let url = self.url(&["blocks", id]);
        let raw: RawBlock = self.read(Method::GET, url, None, "block", id).await?;
        Ok(raw.into())
    }

    /// Appends `blocks` (request shape) to `parent`, after its child `after` (at the end when
    /// `None`), in as many requests as Notion's limits need; the new top-level blocks in order.
    /// A block nested deeper than [`MAX_NESTING`] levels is refused before anything is sent.
    pub async fn append_children(
        &self,
        parent: &str,
        blocks: &[Value],
        after: Option<&str>,
    ) -> Result<Vec<Block>> {
        if let Some((i, _)) = blocks
            .iter()
            .enumerate()
            .find(|(_, b)| nesting_depth(b) > MAX_NESTING)
        {
            return Err(ApiError::Validation {
                service: Service::Notion,
                request: format!("PATCH /v1/blocks/{parent}/children"),
                message: format!(
                    "block {i} nests more than {MAX_NESTING} levels of children (Notion takes two per request)"
                ),
            });
        }
        let mut created: Vec<Block> = Vec::with_capacity(blocks.len());
        let mut after = after.map(str::to_owned);
        for chunk in append_chunks(blocks) {
            let mut body = json!({ "children": chunk });
            if let Some(a) = &after {
                body["after"] = json!(a);
            }
            let url = self.url(&["blocks", parent, "children"]);
            let call = Call::write(Method::PATCH, url, &body);
            let done_before = created.len();
            let results = self
                .t
                .write_settled(
                    call,
                    None,
                    |reply| {
                        let answer: RawBlockList =
                            self.decode(&reply, "PATCH /v1/blocks/{id}/children")?;
                        Ok(answer.results.into_iter().map(Block::from).collect())
                    },
                    |f, _| self.settle_append(parent, chunk.len(), done_before, f),
                )
                .await?;
            after = results.last().map(|b| b.id.clone()).or(after);
            created.extend(results);
        }
        Ok(created)
    }

    /// Changes a block's content: `content` is the type's object (`{"rich_text": [...]}`).
    pub async fn update_block(&self, id: &str, kind: &str, content: Value) -> Result<Block> {
        let body = json!({ kind: content });
        self.settled_block_write(Method::PATCH, id, Some(&body), |_| true)
            .await
    }

    /// Moves a block (and its children) to the trash.
    pub async fn delete_block(&self, id: &str) -> Result<Block> {
        self.settled_block_write(Method::DELETE, id, None, |b| b.in_trash)
            .await
    }

    /// Settles an append whose send failed: the blocks a 503 names as committed are read;
    /// any other unknown outcome is never sent twice.
    async fn settle_append(
        &self,
        parent: &str,
        sent: usize,
        appended_before: usize,
        f: Failure,
    ) -> Settle<Vec<Block>> {
        // "for block appends committed_resource_id = parent and
        // committed_child_ids = new children" (503 after a committed write,
        // developers.notion.com/reference/request-limits).
        let ids: Vec<String> = f
            .json()
            .and_then(|b| {
                b.pointer("/additional_data/committed_child_ids")
                    .and_then(Value::as_array)
                    .map(|ids| {
                        ids.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
            })
            .unwrap_or_default();
        if !ids.is_empty() && ids.len() == sent {
            self.t.log(&format!(
                "append to {parent} answered {} but committed {} blocks; reading them",
                f.status().unwrap_or(0),
                ids.len()
            ));
            let mut results = Vec::with_capacity(ids.len());
            for id in &ids {
                match self.retrieve_block(id).await {
                    Ok(block) => results.push(block),
                    Err(e) => return Settle::Fail(e),
                }
            }
            return Settle::Done(results);
        }
        if f.outcome_unknown() || !matches!(committed(&f), Committed::No) {
            return Settle::Fail(ApiError::AmbiguousWrite {
                service: Service::Notion,
                what: format!(
                    "appending {sent} blocks to {parent} ({appended_before} appended before)"
                ),
                detail: failure_summary(&f),
            });
        }
        Settle::Fail(self.map(f, "block", parent))
    }

    /// A block write settled by reading the block back when its outcome is unknown: done when
    /// `applied` holds for what reads back (an update is then sent again: the same content
    /// twice is one change), bounded by the retry policy's attempts.
    async fn settled_block_write(
        &self,
        method: Method,
        id: &str,
        body: Option<&Value>,
        applied: impl Fn(&Block) -> bool,
    ) -> Result<Block> {
        let call = Call {
            method: method.clone(),
            url: self.url(&["blocks", id]),
            body,
            access: Access::Write,
        };
        let (method, applied) = (&method, &applied);
        self.t
            .write_settled(
                call,
                None,
                |reply| Ok(self.decode::<RawBlock>(&reply, "block write")?.into()),
                |f, _| async move {
                    let conflict = f.status() == Some(409);
                    if !conflict && !f.outcome_unknown() && matches!(committed(&f), Committed::No) {
                        return Settle::Fail(self.map(f, "block", id));
                    }
                    self.t.log(&format!(
                        "{method} block {id}: {}; reading it back",
                        failure_summary(&f)
                    ));
                    let read = match self.retrieve_block(id).await {
                        Ok(read) => read,
                        Err(e) => return Settle::Fail(e),
                    };
                    if *method == Method::DELETE && applied(&read) {
                        return Settle::Done(read);
                    }
                    Settle::Again {
                        exhausted: ApiError::AmbiguousWrite {
                            service: Service::Notion,
                            what: format!("{method} block {id}"),
                            detail: failure_summary(&f),
                        },
                        backoff: Some("retrying a block write".to_owned()),
                        resend: None,
                    }
                },
            )
            .await
    }

    /// Creates a plain page titled `title` under the page `parent` with `children` (at most
    /// [`MAX_CHILDREN_PER_APPEND`] blocks). A 503 naming the committed page is settled by
    /// reading it; any other unknown outcome is an [`ApiError::AmbiguousWrite`], never a
    /// second page: the caller marks the page's content so a re-run finds it.
    pub async fn create_child_page(
        &self,
        parent: &str,
        title: &str,
        children: &[Value],
    ) -> Result<String> {
        let body = json!({
            "parent": {"type": "page_id", "page_id": parent},
            "properties": {"title": {"title": [{"type": "text", "text": {"content": title}}]}},
            "children": children,
        });
        let call = Call::write(Method::POST, self.url(&["pages"]), &body);
        self.t
            .write_settled(
                call,
                None,
                |reply| {
                    let page: Value = self.decode(&reply, "POST /v1/pages")?;
                    page.get("id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| ApiError::Decode {
                            service: Service::Notion,
                            what: "POST /v1/pages".to_owned(),
                            message: "the answer has no id".to_owned(),
                        })
                },
                |f, _| async move {
                    match committed(&f) {
                        Committed::Resource(id) => match self.retrieve_block(&id).await {
                            Ok(_) => Settle::Done(id),
                            Err(e) => Settle::Fail(e),
                        },
                        _ if f.outcome_unknown() => Settle::Fail(ApiError::AmbiguousWrite {
                            service: Service::Notion,
                            what: format!("creating the page \"{title}\""),
                            detail: failure_summary(&f),
                        }),
                        _ => Settle::Fail(self.map(f, "page", parent)),
                    }
                },
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn para() -> Value {
        json!({"type": "paragraph", "paragraph": {"rich_text": []}})
    }

    fn bullet(children: Vec<Value>) -> Value {
        json!({"type": "bulleted_list_item", "bulleted_list_item": {"rich_text": [], "children": children}})
    }

    #[test]
    fn chunks_keep_order_within_100_blocks_and_1000_elements() {
        let blocks: Vec<Value> = (0..250).map(|_| para()).collect();
        let chunks = append_chunks(&blocks);
        assert_eq!(
            chunks.iter().map(|c| c.len()).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        // 60 blocks of 20 elements each: 1,000 elements at most per append.
        let heavy: Vec<Value> = (0..60).map(|_| bullet(vec![para(); 19])).collect();
        let chunks = append_chunks(&heavy);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [50, 10]);
        assert!(append_chunks(&[]).is_empty());
    }

    #[test]
    fn depth_counts_levels_of_children() {
        assert_eq!(nesting_depth(&para()), 0);
        assert_eq!(nesting_depth(&bullet(vec![para()])), 1);
        assert_eq!(nesting_depth(&bullet(vec![bullet(vec![para()])])), 2);
        assert_eq!(element_count(&bullet(vec![bullet(vec![para()])])), 3);
    }
}
