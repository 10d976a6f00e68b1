// Checks that Notion's official JavaScript SDK (@notionhq/client v5, Notion-Version
// 2025-09-03) works against the kodo sandbox running the `demo` scenario.
//
// Usage: KODO_SANDBOX_URL=http://127.0.0.1:PORT NOTION_API_KEY=ntn_... node check.mjs
// Exits non-zero on the first failed check.

import assert from "node:assert/strict";
import {
  APIErrorCode,
  Client,
  collectPaginatedAPI,
  isFullDatabase,
  isFullDataSource,
  isFullPage,
  isFullUser,
  isNotionClientError,
  LogLevel,
} from "@notionhq/client";

const baseUrl = process.env.KODO_SANDBOX_URL;
const auth = process.env.NOTION_API_KEY;
if (!baseUrl || !auth) {
  console.error("set KODO_SANDBOX_URL and NOTION_API_KEY");
  process.exit(2);
}

// Fixed ids of the demo scenario (sandbox/scenarios/demo.json).
const EVENTS_DATABASE = "22d9f5a1-4b6c-80d8-a2e3-f4a5b6c7d8e9";
const EVENTS_DATA_SOURCE = "22d9f5a1-4b6c-8069-b3f4-a5b6c7d8e9f0";

// Expected error answers are checked below; keep the SDK from logging them as warnings.
const notion = new Client({ auth, baseUrl, notionVersion: "2025-09-03", logLevel: LogLevel.ERROR });
let passed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name}`);
  } catch (error) {
    console.error(`not ok - ${name}`);
    console.error(error);
    process.exit(1);
  }
}

const title = (page, property) =>
  page.properties[property][page.properties[property].type].map((t) => t.plain_text).join("");

await check("databases.retrieve gives a container with its data source", async () => {
  const database = await notion.databases.retrieve({ database_id: EVENTS_DATABASE });
  assert.ok(isFullDatabase(database));
  assert.equal(database.object, "database");
  assert.equal(database.id, EVENTS_DATABASE);
  assert.deepEqual(database.data_sources, [{ id: EVENTS_DATA_SOURCE, name: "Events" }]);
  assert.equal(database.title[0].plain_text, "Events");
});

await check("dataSources.retrieve gives the schema", async () => {
  const dataSource = await notion.dataSources.retrieve({ data_source_id: EVENTS_DATA_SOURCE });
  assert.ok(isFullDataSource(dataSource));
  assert.equal(dataSource.properties["Event Name"].type, "title");
  assert.equal(dataSource.properties["Event Name"].id, "title");
  const domains = dataSource.properties.Domain.select.options.map((o) => o.name);
  assert.deepEqual(domains, ["user_", "subscription_", "feature_", "error_", "system_"]);
});

await check("collectPaginatedAPI over dataSources.query reads all 41 rows", async () => {
  const rows = await collectPaginatedAPI(notion.dataSources.query, {
    data_source_id: EVENTS_DATA_SOURCE,
    page_size: 10,
  });
  assert.equal(rows.length, 41);
  assert.equal(new Set(rows.map((r) => r.id)).size, 41);
  for (const row of rows) {
    assert.ok(isFullPage(row));
    assert.equal(row.parent.type, "data_source_id");
    assert.equal(row.parent.data_source_id, EVENTS_DATA_SOURCE);
    assert.match(row.created_time, /:00\.000Z$/);
  }
  assert.ok(rows.some((r) => title(r, "Event Name") === "user_signed_up"));
});

await check("pages.create adds an events row that reads back", async () => {
  const created = await notion.pages.create({
    parent: { type: "data_source_id", data_source_id: EVENTS_DATA_SOURCE },
    properties: {
      "Event Name": { title: [{ type: "text", text: { content: "user_sdk_checked" } }] },
      Domain: { select: { name: "user_" } },
      Category: { select: { name: "engagement" } },
      Description: { rich_text: [{ type: "text", text: { content: "Created by the SDK check." } }] },
      "Tracked On": { multi_select: [{ name: "backend" }] },
      Created: { date: { start: "2025-11-25" } },
    },
  });
  assert.ok(isFullPage(created));
  assert.equal(title(created, "Event Name"), "user_sdk_checked");
  assert.equal(created.properties.Domain.select.name, "user_");
  const read = await notion.pages.retrieve({ page_id: created.id });
  assert.ok(isFullPage(read));
  assert.deepEqual(read.properties, created.properties);
  const found = await notion.dataSources.query({
    data_source_id: EVENTS_DATA_SOURCE,
    filter: { property: "Event Name", title: { equals: "user_sdk_checked" } },
  });
  assert.deepEqual(found.results.map((r) => r.id), [created.id]);
});

await check("users.list pages through people (with emails) and the bot", async () => {
  const users = await collectPaginatedAPI(notion.users.list, { page_size: 2 });
  assert.equal(users.length, 5);
  for (const user of users) assert.ok(isFullUser(user));
  const people = users.filter((u) => u.type === "person");
  assert.equal(people.length, 4);
  for (const person of people) assert.match(person.person.email, /@acme\.example$/);
  assert.equal(users.filter((u) => u.type === "bot").length, 1);
  const me = await notion.users.me({});
  assert.equal(me.type, "bot");
});

await check("search finds data sources by database title", async () => {
  const result = await notion.search({ query: "Events", filter: { property: "object", value: "data_source" } });
  assert.equal(result.results.length, 1);
  assert.equal(result.results[0].object, "data_source");
  assert.equal(result.results[0].id, EVENTS_DATA_SOURCE);
});

await check("errors surface as APIResponseError with Notion's codes", async () => {
  await assert.rejects(
    notion.pages.retrieve({ page_id: "0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f" }),
    (error) => isNotionClientError(error) && error.code === APIErrorCode.ObjectNotFound,
  );
  await assert.rejects(
    notion.pages.create({
      parent: { type: "data_source_id", data_source_id: EVENTS_DATA_SOURCE },
      properties: { Nope: { rich_text: [] } },
    }),
    (error) =>
      isNotionClientError(error) &&
      error.code === APIErrorCode.ValidationError &&
      error.message === "Nope is not a property that exists.",
  );
});

const ANALYTICS_HOME = "21c8e4f0-3a5b-80c7-b1d2-e3f4a5b6c7d8";

await check("blocks.children: pages.create under a page, append, list, update, delete", async () => {
  const page = await notion.pages.create({
    parent: { type: "page_id", page_id: ANALYTICS_HOME },
    properties: { title: { title: [{ type: "text", text: { content: "SDK plan" } }] } },
  });
  const home = await collectPaginatedAPI(notion.blocks.children.list, { block_id: ANALYTICS_HOME });
  const listed = home.find((b) => b.id === page.id);
  assert.equal(listed.type, "child_page");
  assert.equal(listed.child_page.title, "SDK plan");
  const appended = await notion.blocks.children.append({
    block_id: page.id,
    children: [
      { type: "heading_2", heading_2: { rich_text: [{ type: "text", text: { content: "Events" } }] } },
      { type: "divider", divider: {} },
      {
        type: "table",
        table: {
          table_width: 2,
          has_column_header: true,
          children: [
            { type: "table_row", table_row: { cells: [[{ text: { content: "a" } }], [{ text: { content: "b" } }]] } },
          ],
        },
      },
    ],
  });
  assert.equal(appended.results.length, 3);
  const [heading, divider] = appended.results;
  const inserted = await notion.blocks.children.append({
    block_id: page.id,
    children: [{ paragraph: { rich_text: [{ text: { content: "between" } }] } }],
    position: { type: "after_block", after_block: { id: heading.id } },
  });
  const blocks = await collectPaginatedAPI(notion.blocks.children.list, { block_id: page.id, page_size: 2 });
  assert.deepEqual(blocks.map((b) => b.type), ["heading_2", "paragraph", "divider", "table"]);
  assert.equal(blocks[3].has_children, true);
  const rows = await notion.blocks.children.list({ block_id: blocks[3].id });
  assert.equal(rows.results[0].table_row.cells[1][0].plain_text, "b");
  const updated = await notion.blocks.update({
    block_id: inserted.results[0].id,
    paragraph: { rich_text: [{ text: { content: "edited" } }] },
  });
  assert.equal(updated.paragraph.rich_text[0].plain_text, "edited");
  const deleted = await notion.blocks.delete({ block_id: divider.id });
  assert.equal(deleted.in_trash, true);
  const read = await notion.blocks.retrieve({ block_id: divider.id });
  assert.equal(read.in_trash, true);
  const after = await collectPaginatedAPI(notion.blocks.children.list, { block_id: page.id });
  assert.equal(after.length, 3);
  await assert.rejects(
    notion.blocks.children.append({
      block_id: page.id,
      children: Array.from({ length: 101 }, () => ({ divider: {} })),
    }),
    (error) =>
      isNotionClientError(error) &&
      error.code === APIErrorCode.ValidationError &&
      error.message === "body failed validation: body.children.length should be ≤ `100`, instead was `101`.",
  );
});

console.log(`${passed} passed, 0 failed`);
