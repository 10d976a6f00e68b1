//! What real Notion does that a naive client gets wrong (issue #12, the Notion side), end to
//! end: the `kodo` binary against the emulator, which does each of these by default.

use serde_json::json;

use crate::common::*;

/// Notion counts lengths in UTF-16 units (developers.notion.com/reference/request-limits):
/// 1,500 emoji are 1,500 chars but 3,000 units, too long for one rich-text piece; a Domain
/// derived from a long key is over the 100-unit option limit (dvanoni/notero#427). Both are
/// imported, and a second run writes nothing.
#[test]
fn emoji_text_and_a_long_domain_are_imported_within_notions_utf16_limits() {
    let env = TestEnv::start("demo");
    let description = "🚀".repeat(1500);
    let name = format!("{}_clicked", "launch".repeat(20)); // domain: 121 units
    env.sandbox.admin_send(
        "POST",
        "/posthog/event_definitions",
        json!({"name": name, "description": description}),
    );
    env.sandbox.admin_send(
        "POST",
        "/posthog/event_definitions",
        json!({"name": format!("{}_opened", "🚀".repeat(60))}),
    );
    env.ph_sync(&["import"]);
    let row = env.row_where("events", "Event Name", &name);
    assert_eq!(plain(&row["properties"]["Description"]), description);
    let domain = plain(&row["properties"]["Domain"]);
    assert!(
        domain.starts_with("launchlaunch") && domain.ends_with('…'),
        "{domain}"
    );
    assert!(domain.encode_utf16().count() <= 100, "{domain}");
    let row = env.row_where(
        "events",
        "Event Name",
        &format!("{}_opened", "🚀".repeat(60)),
    );
    let domain = plain(&row["properties"]["Domain"]);
    assert_eq!(domain, format!("{}…", "🚀".repeat(49)));

    env.clear_requests();
    env.ph_sync(&["import"]);
    assert!(env.notion_writes().is_empty(), "{:?}", env.notion_writes());
}
