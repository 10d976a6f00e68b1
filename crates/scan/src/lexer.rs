//! A small, forgiving tokenizer shared by every language the scanner reads.
//!
//! It turns source bytes into identifiers, string literals, numbers and punctuation, and
//! drops comments, so a call written in a comment never counts and a call written inside a
//! string literal (`"posthog.capture('x')"`) stays a string. It is not a parser: it never
//! fails, and on malformed input it degrades locally (an unterminated single-line string
//! ends at the end of its line). Offsets are byte offsets into the original text, lines are
//! 1-based, so tokens of embedded code (a Vue `<script>` block) keep their real positions.

use crate::lang::Lang;

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tk {
    Ident,
    Str,
    Num,
    Punct,
}

/// The string body contains an interpolation (`${x}`, `#{x}`, f-string `{x}`, `\(x)`).
pub(crate) const INTERP: u8 = 1;
/// The string is raw or verbatim: backslashes are literal.
pub(crate) const RAW: u8 = 2;
/// The token comes from an inline `<script>` block (or an `on…` handler attribute) of an
/// HTML page, a server template, a PHP view or an Astro component: code that runs in the
/// browser, in JavaScript whatever the file's own language.
pub(crate) const BROWSER: u8 = 4;
/// The string is partly written by a server template's tag (`'<%= @name %>'` in an ERB
/// view's `<script>` block): its text is not its value. Always set with [`INTERP`].
pub(crate) const SPLICED: u8 = 8;

/// One token. For strings, `body_start..body_end` is the text between the quotes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Token {
    pub kind: Tk,
    pub start: u32,
    pub end: u32,
    pub line: u32,
    pub body_start: u32,
    pub body_end: u32,
    pub flags: u8,
    /// The token's first byte (set by [`tokenize`]): [`Token::is`] rules most tokens out
    /// on it and the length without reading the source.
    pub first: u8,
}

impl Token {
    pub(crate) fn text<'a>(&self, src: &'a [u8]) -> &'a [u8] {
        &src[self.start as usize..self.end as usize]
    }

    pub(crate) fn is(&self, src: &[u8], text: &str) -> bool {
        let text = text.as_bytes();
        self.kind != Tk::Str
            && (self.end - self.start) as usize == text.len()
            && text.first() == Some(&self.first)
            && (text.len() == 1 || self.text(src) == text)
    }

    pub(crate) fn interpolated(&self) -> bool {
        self.flags & INTERP != 0
    }

    /// The closing `%>` of an ERB tag: the end of the Ruby statement it holds.
    pub(crate) fn ends_tag(&self, src: &[u8]) -> bool {
        self.kind == Tk::Punct && self.text(src).ends_with(b"%>")
    }
}

/// The decoded value of a string token (simple escapes processed; raw strings verbatim).
pub(crate) fn str_value(src: &[u8], tok: &Token) -> String {
    let body = &src[tok.body_start as usize..tok.body_end as usize];
    if tok.flags & RAW != 0 || !body.contains(&b'\\') {
        return String::from_utf8_lossy(body).into_owned();
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'\\' && i + 1 < body.len() {
            out.push(match body[i + 1] {
                b'n' => b'\n',
                b't' => b'\t',
                b'r' => b'\r',
                b'0' => 0,
                other => other,
            });
            i += 2;
        } else {
            out.push(body[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Interp {
    None,
    /// `${…}` (JS templates).
    DollarBrace,
    /// `$name` or `${…}` (Kotlin, Dart, PHP).
    Dollar,
    /// `#{…}` (Ruby, Elixir).
    HashBrace,
    /// `\(…)` (Swift).
    BackslashParen,
    /// `{…}` but not `{{` (Python f-strings, C# `$"…"`).
    Brace,
}

struct Syntax {
    slash_comments: bool,
    hash_comments: bool,
    /// `'` delimits strings (or chars); false: `'` is punctuation.
    single_quote: bool,
    triple_quotes: bool,
    /// `"…"` may span lines.
    multiline: bool,
    /// Interpolation in `"…"`.
    dq_interp: Interp,
    /// Interpolation in `'…'`.
    sq_interp: Interp,
    /// 0: backtick is punctuation; 1: JS template literal; 2: Go raw string.
    backtick: u8,
    regex_literals: bool,
    /// Identifiers may end in `?`/`!`, and `:name` is a symbol.
    ruby_like: bool,
}

fn syntax(lang: Lang) -> Syntax {
    let c_like = Syntax {
        slash_comments: true,
        hash_comments: false,
        single_quote: true,
        triple_quotes: false,
        multiline: false,
        dq_interp: Interp::None,
        sq_interp: Interp::None,
        backtick: 0,
        regex_literals: false,
        ruby_like: false,
    };
    match lang {
        Lang::Js | Lang::Ts | Lang::Vue | Lang::Svelte | Lang::Markup | Lang::Astro => Syntax {
            backtick: 1,
            regex_literals: true,
            ..c_like
        },
        Lang::Python => Syntax {
            slash_comments: false,
            hash_comments: true,
            triple_quotes: true,
            ..c_like
        },
        Lang::Go => Syntax {
            backtick: 2,
            ..c_like
        },
        Lang::Ruby | Lang::Erb => Syntax {
            slash_comments: false,
            hash_comments: true,
            multiline: true,
            dq_interp: Interp::HashBrace,
            ruby_like: true,
            ..c_like
        },
        Lang::Elixir => Syntax {
            slash_comments: false,
            hash_comments: true,
            triple_quotes: true,
            multiline: true,
            dq_interp: Interp::HashBrace,
            sq_interp: Interp::HashBrace,
            ruby_like: true,
            ..c_like
        },
        Lang::Php => Syntax {
            hash_comments: true,
            multiline: true,
            dq_interp: Interp::Dollar,
            ..c_like
        },
        Lang::Java | Lang::ObjC | Lang::CSharp => Syntax {
            triple_quotes: true,
            ..c_like
        },
        Lang::Kotlin => Syntax {
            triple_quotes: true,
            dq_interp: Interp::Dollar,
            ..c_like
        },
        Lang::Swift => Syntax {
            single_quote: false,
            triple_quotes: true,
            dq_interp: Interp::BackslashParen,
            ..c_like
        },
        Lang::Dart => Syntax {
            triple_quotes: true,
            dq_interp: Interp::Dollar,
            sq_interp: Interp::Dollar,
            ..c_like
        },
        Lang::Rust => Syntax {
            multiline: true,
            ..c_like
        },
    }
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || b >= 0x80
}

pub(crate) fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

const PUNCT3: [&[u8]; 3] = [b"===", b"!==", b"..."];
const PUNCT2: [&[u8]; 14] = [
    b"?.", b"->", b"::", b"=>", b":=", b"==", b"!=", b"<=", b">=", b"&&", b"||", b"??", b"|>",
    b"..",
];

/// Tokenizes `src` as `lang`, appending to `out` (cleared first).
pub(crate) fn tokenize(src: &[u8], lang: Lang, out: &mut Vec<Token>) {
    out.clear();
    match lang {
        Lang::Vue | Lang::Svelte | Lang::Markup => {
            tokenize_markup(src, 0, src.len(), 1, lang, out, None)
        }
        Lang::Erb => tokenize_erb(src, out),
        Lang::Astro => tokenize_astro(src, out),
        Lang::Php => tokenize_php(src, out),
        _ => tokenize_range(src, 0, src.len(), 1, lang, out),
    }
    for t in out.iter_mut() {
        t.first = src.get(t.start as usize).copied().unwrap_or(0);
    }
}

/// Astro: the frontmatter between the leading `---` fences is server-side TypeScript; the
/// rest is markup with `<script>` blocks (browser code) and `{ … }` expressions.
fn tokenize_astro(src: &[u8], out: &mut Vec<Token>) {
    let start = src
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(src.len());
    let mut from = 0;
    let mut line = 1;
    if src[start..].starts_with(b"---") {
        let body = start + 3;
        let close =
            memchr::memmem::find(&src[body..], b"\n---").map_or(src.len(), |p| body + p + 1);
        let first = 1 + count_lines(&src[..body]);
        tokenize_range(src, body, close, first, Lang::Ts, out);
        from = (close + 3).min(src.len());
        line = 1 + count_lines(&src[..from]);
    }
    tokenize_markup(src, from, src.len(), line, Lang::Astro, out, None);
}

/// PHP: code between `<?php` (or `<?=`, `<?`) and `?>` (or the end of the file) is PHP; the
/// text outside is inline HTML, whose `<script>` blocks are browser code.
fn tokenize_php(src: &[u8], out: &mut Vec<Token>) {
    let n = src.len();
    let mut i = 0;
    let mut line = 1u32;
    while i < n {
        let open = memchr::memmem::find(&src[i..], b"<?").map_or(n, |p| p + i);
        if open > i {
            tokenize_markup(src, i, open, line, Lang::Markup, out, None);
            line += count_lines(&src[i..open]);
        }
        if open >= n {
            break;
        }
        let mut code = open + 2;
        if src[code..].starts_with(b"php") {
            code += 3;
        } else if src[code..].starts_with(b"=") {
            code += 1;
        }
        let close = memchr::memmem::find(&src[code..], b"?>").map_or(n, |p| p + code);
        let first = line + count_lines(&src[open..code]);
        tokenize_range(src, code, close, first, Lang::Php, out);
        let resume = (close + 2).min(n);
        line += count_lines(&src[open..resume]);
        i = resume;
    }
}

/// ERB (Rails views): the code of `<% … %>`, `<%= … %>`, `<%== … %>` and `<%- … -%>` tags
/// is Ruby; `<%# … %>` is a comment and `<%%` a literal `<%`. A tag ends at the first `%>`,
/// as ERB and Erubi read it. The text around the tags is markup whose `<script>` blocks and
/// `on…` handlers are browser code, read with every tag cut out: an output tag inside such
/// code is one opaque token there (what it prints is not known), and a string a tag splices
/// into is [`SPLICED`]. Each tag's Ruby tokens are followed by its closing `%>` (a statement
/// end); the Ruby tokens come first, then the browser code's, each in source order.
fn tokenize_erb(src: &[u8], out: &mut Vec<Token>) {
    let n = src.len();
    // (tag start, tag end, prints its value)
    let mut tags: Vec<(usize, usize, bool)> = Vec::new();
    let mut i = 0;
    let mut line = 1u32;
    while let Some(open) = memchr::memmem::find(&src[i..], b"<%").map(|p| p + i) {
        line += count_lines(&src[i..open]);
        if src.get(open + 2) == Some(&b'%') {
            i = open + 3;
            continue;
        }
        let close = memchr::memmem::find(&src[open + 2..], b"%>").map_or(n, |p| p + open + 2);
        let end = (close + 2).min(n);
        let mut code = open + 2;
        let comment = src.get(code) == Some(&b'#');
        let output = src.get(code) == Some(&b'=');
        if output {
            code += 1 + usize::from(src.get(code + 1) == Some(&b'='));
        } else if src.get(code) == Some(&b'-') {
            code += 1;
        }
        let mut code_end = close;
        if code_end > code && matches!(src[code_end - 1], b'-' | b'=') {
            code_end -= 1;
        }
        if !comment {
            tokenize_range(src, code, code_end, line, Lang::Ruby, out);
            if close < n {
                let at = line + count_lines(&src[open..close]);
                out.push(simple(Tk::Punct, code_end, end, at));
            }
        }
        tags.push((open, end, output && !comment));
        line += count_lines(&src[open..end]);
        i = end;
    }
    if tags.is_empty() {
        tokenize_markup(src, 0, n, 1, Lang::Markup, out, None);
        return;
    }
    let mut masked = src.to_vec();
    for &(s, e, _) in &tags {
        for b in &mut masked[s..e] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    let mut js = Vec::new();
    let mut regions = Vec::new();
    tokenize_markup(&masked, 0, n, 1, Lang::Markup, &mut js, Some(&mut regions));
    let inside = |t: &Token, s: usize| (t.start as usize) < s && s < t.end as usize;
    for t in &mut js {
        if t.kind == Tk::Str && tags.iter().any(|&(s, _, _)| inside(t, s)) {
            t.flags |= INTERP | SPLICED;
        }
    }
    let mut spliced: Vec<Token> = Vec::new();
    for &(s, e, output) in &tags {
        let in_code = regions.iter().any(|&(a, b)| a <= s && e <= b);
        if output && in_code && !js.iter().any(|t| inside(t, s)) {
            let mut t = simple(Tk::Punct, s, e, 1 + count_lines(&src[..s]));
            t.flags |= BROWSER;
            spliced.push(t);
        }
    }
    if !spliced.is_empty() {
        js.extend(spliced);
        js.sort_by_key(|t| t.start);
    }
    out.extend(js);
}

/// Whether a `<script …>` tag holds JavaScript or TypeScript (no `type`, or a JS one), not
/// data or a template (`application/json`, `text/x-template`).
fn script_is_code(tag: &[u8]) -> bool {
    let tag = tag.to_ascii_lowercase();
    let Some(at) = memchr::memmem::find(&tag, b"type=") else {
        return true;
    };
    let value: Vec<u8> = tag[at + 5..]
        .iter()
        .copied()
        .skip_while(|b| *b == b'"' || *b == b'\'')
        .take_while(|b| !matches!(b, b'"' | b'\'' | b' ' | b'>'))
        .collect();
    value == b"module"
        || [
            &b"javascript"[..],
            b"ecmascript",
            b"babel",
            b"jsx",
            b"typescript",
        ]
        .iter()
        .any(|k| memchr::memmem::find(&value, k).is_some())
}

/// Vue and Svelte: code lives in `<script>` blocks, in `{{ … }}` / `{ … }` expressions and
/// in directive attributes (`@click="…"`, `:prop="…"`, `v-if="…"`, `on:click={…}`);
/// everything else is markup text and is ignored. HTML pages and server templates
/// ([`Lang::Markup`]): `<script>` blocks and `on…` handler attributes only, marked
/// [`BROWSER`]; Astro: `<script>` blocks ([`BROWSER`]) and `{ … }` expressions. The byte
/// ranges read as code are pushed to `regions` when given.
fn tokenize_markup(
    src: &[u8],
    from: usize,
    to: usize,
    first_line: u32,
    lang: Lang,
    out: &mut Vec<Token>,
    mut regions: Option<&mut Vec<(usize, usize)>>,
) {
    let mut i = from;
    let mut line = first_line;
    let n = to;
    let find = |from: usize, pat: &[u8]| -> Option<usize> {
        memchr::memmem::find(&src[from..n], pat).map(|p| p + from)
    };
    let page = matches!(lang, Lang::Markup | Lang::Astro);
    let mut browser = false;
    while i < n {
        let b = src[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            continue;
        }
        let rest = &src[i..];
        let mut region: Option<(usize, usize, usize)> = None; // (code start, code end, resume)
        if rest.starts_with(b"<!--") {
            let end = find(i + 4, b"-->").map_or(n, |p| p + 3);
            line += count_lines(&src[i..end]);
            i = end;
            continue;
        } else if rest.starts_with(b"<script")
            && rest
                .get(7)
                .is_none_or(|b| b.is_ascii_whitespace() || *b == b'>')
        {
            if let Some(gt) = find(i, b">") {
                let end = find(gt + 1, b"</script").unwrap_or(n);
                if script_is_code(&src[i..gt]) {
                    region = Some((gt + 1, end, end));
                    browser = page;
                } else {
                    line += count_lines(&src[i..end]);
                    i = end.max(i + 1);
                    continue;
                }
            }
        } else if rest.starts_with(b"<style") {
            let end = find(i, b"</style").unwrap_or(n);
            line += count_lines(&src[i..end]);
            i = end.max(i + 1);
            continue;
        } else if lang == Lang::Markup {
            // Only `<script>` blocks and `on…` handlers below.
        } else if rest.starts_with(b"{{") {
            let end = find(i + 2, b"}}").unwrap_or(n);
            region = Some((i + 2, end, (end + 2).min(n)));
        } else if matches!(lang, Lang::Svelte | Lang::Astro) && b == b'{' {
            let mut depth = 0usize;
            let mut j = i;
            while j < n {
                match src[j] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            let mut start = i + 1;
            // `{#if cond}`, `{:else if cond}`, `{@html x}`: skip the block keyword.
            if start < j && matches!(src[start], b'#' | b':' | b'@' | b'/') {
                while start < j && !src[start].is_ascii_whitespace() {
                    start += 1;
                }
            }
            region = Some((start, j, (j + 1).min(n)));
        }
        if region.is_none() && (b == b'"' || b == b'\'') && i > from && src[i - 1] == b'=' {
            let mut k = i - 1;
            while k > from && !src[k - 1].is_ascii_whitespace() && src[k - 1] != b'<' {
                k -= 1;
            }
            let name = &src[k..i - 1];
            let end = memchr::memchr(b, &src[i + 1..n]).map_or(n, |p| p + i + 1);
            // An HTML event handler: `onclick="posthog.capture('x')"`.
            let handler = page
                && name.len() > 2
                && name[..2].eq_ignore_ascii_case(b"on")
                && name[2..].iter().all(|c| c.is_ascii_alphabetic());
            if handler {
                browser = true;
            }
            if handler
                || (!page
                    && (name.starts_with(b"@")
                        || name.starts_with(b":")
                        || name.starts_with(b"v-")
                        || name.starts_with(b"on:")))
            {
                region = Some((i + 1, end, (end + 1).min(n)));
            } else {
                line += count_lines(&src[i..end]);
                i = (end + 1).min(n);
                continue;
            }
        }
        match region {
            Some((start, end, resume)) => {
                line += count_lines(&src[i..start]);
                if let Some(r) = regions.as_deref_mut() {
                    r.push((start, end));
                }
                let first = out.len();
                tokenize_range(src, start, end, line, Lang::Ts, out);
                if browser {
                    for t in &mut out[first..] {
                        t.flags |= BROWSER;
                    }
                    browser = false;
                }
                line += count_lines(&src[start..resume]);
                i = resume.max(i + 1);
            }
            None => i += 1,
        }
    }
}

fn count_lines(s: &[u8]) -> u32 {
    memchr::memchr_iter(b'\n', s).count() as u32
}

fn tokenize_range(
    src: &[u8],
    from: usize,
    to: usize,
    first_line: u32,
    lang: Lang,
    out: &mut Vec<Token>,
) {
    let syn = syntax(lang);
    let mut i = from;
    let mut line = first_line;
    let mut line_start = true;
    while i < to {
        let b = src[i];
        if b == b'\n' {
            line += 1;
            i += 1;
            line_start = true;
            continue;
        }
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let at_line_start = std::mem::replace(&mut line_start, false);
        let next = if i + 1 < to { src[i + 1] } else { 0 };
        // Comments.
        if syn.slash_comments && b == b'/' && next == b'/' {
            i = memchr::memchr(b'\n', &src[i..to]).map_or(to, |p| i + p);
            continue;
        }
        if syn.slash_comments && b == b'/' && next == b'*' {
            let end = memchr::memmem::find(&src[i + 2..to], b"*/").map_or(to, |p| i + 2 + p + 2);
            line += count_lines(&src[i..end]);
            i = end;
            continue;
        }
        if syn.hash_comments && b == b'#' && !(lang == Lang::Php && next == b'[') {
            i = memchr::memchr(b'\n', &src[i..to]).map_or(to, |p| i + p);
            continue;
        }
        if lang == Lang::Ruby && at_line_start && src[i..to].starts_with(b"=begin") {
            let end = memchr::memmem::find(&src[i..to], b"\n=end").map_or(to, |p| i + p + 5);
            line += count_lines(&src[i..end]);
            i = end;
            continue;
        }
        // Strings.
        if b == b'"' || (b == b'\'' && syn.single_quote) || (b == b'`' && syn.backtick != 0) {
            if lang == Lang::Rust && b == b'\'' && is_lifetime(src, i, to) {
                let mut j = i + 1;
                while j < to && is_ident_char(src[j]) {
                    j += 1;
                }
                out.push(simple(Tk::Ident, i, j, line));
                i = j;
                continue;
            }
            let (tok, lines) = scan_string(src, i, i, to, line, &syn, lang, 0);
            out.push(tok);
            line += lines;
            i = tok.end as usize;
            continue;
        }
        // C# `$"…"`, `@"…"`, `$@"…"`.
        if lang == Lang::CSharp && (b == b'$' || b == b'@') {
            let mut j = i;
            let mut flags = 0u8;
            while j < to && (src[j] == b'$' || src[j] == b'@') {
                flags |= if src[j] == b'@' { RAW } else { INTERP };
                j += 1;
            }
            if j < to && src[j] == b'"' {
                let (tok, lines) = scan_string(src, i, j, to, line, &syn, lang, flags);
                out.push(tok);
                line += lines;
                i = tok.end as usize;
                continue;
            }
        }
        if is_ident_start(b) {
            let mut j = i + 1;
            while j < to && is_ident_char(src[j]) {
                j += 1;
            }
            // String prefixes: Python f"", r'', b""; Rust r"", r#""#, b""; Dart r''.
            if j < to && (src[j] == b'"' || src[j] == b'\'' || src[j] == b'#') {
                let prefix = src[i..j].to_ascii_lowercase();
                let flags = match (lang, prefix.as_slice()) {
                    (Lang::Python, b"f" | b"fr" | b"rf") => {
                        Some(INTERP | (RAW * prefix.contains(&b'r') as u8))
                    }
                    (Lang::Python, b"r" | b"rb" | b"br") => Some(RAW),
                    (Lang::Python, b"b" | b"u") => Some(0),
                    (Lang::Rust, b"r" | b"br") => Some(RAW),
                    (Lang::Rust, b"b") if src[j] == b'"' => Some(0),
                    (Lang::Dart, b"r") => Some(RAW),
                    _ => None,
                };
                if let Some(flags) = flags {
                    if src[j] != b'#' || lang == Lang::Rust {
                        let (tok, lines) = scan_string(src, i, j, to, line, &syn, lang, flags);
                        out.push(tok);
                        line += lines;
                        i = tok.end as usize;
                        continue;
                    }
                }
            }
            if syn.ruby_like && j < to && (src[j] == b'?' || src[j] == b'!') {
                let after = if j + 1 < to { src[j + 1] } else { 0 };
                if after != b'=' && after != b':' {
                    j += 1;
                }
            }
            out.push(simple(Tk::Ident, i, j, line));
            i = j;
            continue;
        }
        if b.is_ascii_digit() {
            let mut j = i + 1;
            while j < to
                && (is_ident_char(src[j])
                    || (src[j] == b'.' && j + 1 < to && src[j + 1].is_ascii_digit()))
            {
                j += 1;
            }
            out.push(simple(Tk::Num, i, j, line));
            i = j;
            continue;
        }
        // Ruby/Elixir symbols `:name` (but not `::` or `a ? b :c` after an identifier).
        if syn.ruby_like && b == b':' && is_ident_start(next) && next != b'$' {
            let prev = if i > from { src[i - 1] } else { b' ' };
            if !is_ident_char(prev) && prev != b':' && prev != b')' && prev != b']' {
                let mut j = i + 1;
                while j < to && is_ident_char(src[j]) {
                    j += 1;
                }
                if j < to && (src[j] == b'?' || src[j] == b'!') {
                    j += 1;
                }
                out.push(simple(Tk::Ident, i, j, line));
                i = j;
                continue;
            }
        }
        // JS regular expression literals: `/…/flags` where an operand may start.
        if syn.regex_literals && b == b'/' && regex_allowed(src, out) {
            if let Some(end) = scan_regex(src, i, to) {
                out.push(simple(Tk::Str, i, end, line));
                i = end;
                continue;
            }
        }
        let rest = &src[i..to];
        let len = if PUNCT3.iter().any(|p| rest.starts_with(p)) {
            3
        } else if PUNCT2.iter().any(|p| rest.starts_with(p)) {
            2
        } else {
            1
        };
        out.push(simple(Tk::Punct, i, i + len, line));
        i += len;
    }
}

fn simple(kind: Tk, start: usize, end: usize, line: u32) -> Token {
    Token {
        kind,
        start: start as u32,
        end: end as u32,
        line,
        body_start: start as u32,
        body_end: end as u32,
        flags: 0,
        first: 0,
    }
}

/// Rust `'a` / `'static` (a lifetime) versus `'a'` (a char).
fn is_lifetime(src: &[u8], i: usize, to: usize) -> bool {
    let mut j = i + 1;
    if j >= to || !is_ident_start(src[j]) {
        return false;
    }
    while j < to && is_ident_char(src[j]) {
        j += 1;
    }
    !(j < to && src[j] == b'\'')
}

fn regex_allowed(src: &[u8], out: &[Token]) -> bool {
    match out.last() {
        None => true,
        Some(t) => match t.kind {
            Tk::Ident => matches!(
                t.text(src),
                b"return"
                    | b"typeof"
                    | b"case"
                    | b"in"
                    | b"of"
                    | b"delete"
                    | b"void"
                    | b"yield"
                    | b"await"
            ),
            Tk::Str | Tk::Num => false,
            Tk::Punct => !matches!(t.text(src), b")" | b"]" | b"}"),
        },
    }
}

fn scan_regex(src: &[u8], i: usize, to: usize) -> Option<usize> {
    let mut j = i + 1;
    let mut in_class = false;
    if j < to && (src[j] == b'/' || src[j] == b'*') {
        return None;
    }
    while j < to {
        match src[j] {
            b'\n' => return None,
            b'\\' => j += 1,
            b'[' => in_class = true,
            b']' => in_class = false,
            b'/' if !in_class => {
                j += 1;
                while j < to && src[j].is_ascii_alphabetic() {
                    j += 1;
                }
                return Some(j);
            }
            _ => {}
        }
        j += 1;
    }
    None
}

/// Scans a string literal whose prefix starts at `start` and whose quote is at `q`.
/// Returns the token and the number of newlines it spans.
#[allow(clippy::too_many_arguments)]
fn scan_string(
    src: &[u8],
    start: usize,
    q: usize,
    to: usize,
    line: u32,
    syn: &Syntax,
    lang: Lang,
    mut flags: u8,
) -> (Token, u32) {
    // Rust raw strings: r#"…"#.
    if lang == Lang::Rust && flags & RAW != 0 {
        let mut hashes = 0;
        let mut j = q;
        while j < to && src[j] == b'#' {
            hashes += 1;
            j += 1;
        }
        if j >= to || src[j] != b'"' {
            return (simple(Tk::Ident, start, q, line), 0);
        }
        let body_start = j + 1;
        let mut close = Vec::with_capacity(hashes + 1);
        close.push(b'"');
        close.extend(std::iter::repeat_n(b'#', hashes));
        let body_end =
            memchr::memmem::find(&src[body_start..to], &close).map_or(to, |p| body_start + p);
        let end = (body_end + close.len()).min(to);
        let tok = Token {
            kind: Tk::Str,
            start: start as u32,
            end: end as u32,
            line,
            body_start: body_start as u32,
            body_end: body_end as u32,
            flags,
            first: 0,
        };
        return (tok, count_lines(&src[start..end]));
    }
    let quote = src[q];
    let triple = syn.triple_quotes && q + 2 < to && src[q + 1] == quote && src[q + 2] == quote;
    let qlen = if triple { 3 } else { 1 };
    let interp = if quote == b'`' {
        if syn.backtick == 1 {
            Interp::DollarBrace
        } else {
            flags |= RAW;
            Interp::None
        }
    } else if flags & INTERP != 0 {
        match lang {
            Lang::Python | Lang::CSharp => Interp::Brace,
            _ => Interp::None,
        }
    } else if quote == b'"' {
        syn.dq_interp
    } else {
        syn.sq_interp
    };
    flags &= !INTERP;
    let escapes = flags & RAW == 0 || lang == Lang::Python;
    let multiline =
        triple || quote == b'`' || syn.multiline || (lang == Lang::CSharp && flags & RAW != 0);
    let body_start = q + qlen;
    let mut j = body_start;
    let mut lines = 0u32;
    let body_end;
    loop {
        if j >= to {
            body_end = to;
            break;
        }
        let c = src[j];
        if c == b'\\' && escapes {
            if j + 1 < to && src[j + 1] == b'\n' {
                lines += 1;
            }
            if interp == Interp::BackslashParen && j + 1 < to && src[j + 1] == b'(' {
                flags |= INTERP;
            }
            j += 2;
            continue;
        }
        if c == b'\n' {
            if !multiline {
                body_end = j;
                break;
            }
            lines += 1;
        }
        if c == quote {
            if triple {
                if src[j..to].starts_with(&[quote, quote, quote]) {
                    body_end = j;
                    j += 3;
                    break;
                }
            } else if lang == Lang::CSharp && flags & RAW != 0 && j + 1 < to && src[j + 1] == b'"' {
                j += 2;
                continue;
            } else {
                body_end = j;
                j += 1;
                break;
            }
        }
        let nx = if j + 1 < to { src[j + 1] } else { 0 };
        let opens = match interp {
            Interp::DollarBrace => c == b'$' && nx == b'{',
            Interp::Dollar => c == b'$' && (nx == b'{' || is_ident_start(nx) && nx != b'$'),
            Interp::HashBrace => c == b'#' && nx == b'{',
            Interp::Brace => c == b'{' && nx != b'{',
            Interp::BackslashParen | Interp::None => false,
        };
        if interp == Interp::Brace && c == b'{' && nx == b'{' {
            j += 2;
            continue;
        }
        if opens {
            flags |= INTERP;
            // Skip the embedded expression so quotes inside it do not end the string.
            let brace_at = if c == b'{' { j } else { j + 1 };
            if brace_at < to && src[brace_at] == b'{' {
                let mut depth = 0usize;
                let mut k = brace_at;
                while k < to {
                    match src[k] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        b'\n' => lines += 1,
                        _ => {}
                    }
                    k += 1;
                }
                j = k + 1;
                continue;
            }
        }
        j += 1;
    }
    let end = j.min(to);
    let tok = Token {
        kind: Tk::Str,
        start: start as u32,
        end: end as u32,
        line,
        body_start: body_start.min(end) as u32,
        body_end: body_end.max(body_start.min(end)) as u32,
        flags,
        first: 0,
    };
    (tok, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str, lang: Lang) -> Vec<(Tk, String)> {
        let mut out = Vec::new();
        tokenize(src.as_bytes(), lang, &mut out);
        out.iter()
            .map(|t| {
                let text = if t.kind == Tk::Str {
                    str_value(src.as_bytes(), t)
                } else {
                    String::from_utf8_lossy(t.text(src.as_bytes())).into_owned()
                };
                (t.kind, text)
            })
            .collect()
    }

    #[test]
    fn comments_vanish_and_strings_stay_whole() {
        let toks = kinds(
            "// posthog.capture('a')\n/* posthog.capture('b') */ x = \"posthog.capture('c')\"",
            Lang::Js,
        );
        assert_eq!(
            toks,
            vec![
                (Tk::Ident, "x".into()),
                (Tk::Punct, "=".into()),
                (Tk::Str, "posthog.capture('c')".into())
            ]
        );
    }

    #[test]
    fn hash_comments_in_python_but_not_in_strings() {
        let toks = kinds("x = '#not' # posthog.capture('a')\n", Lang::Python);
        assert_eq!(toks.len(), 3);
        assert_eq!(toks[2], (Tk::Str, "#not".into()));
    }

    #[test]
    fn interpolation_is_flagged_per_language() {
        let cases = [
            ("`a-${b}`", Lang::Ts, true),
            ("`plain`", Lang::Ts, false),
            ("f'a{b}'", Lang::Python, true),
            ("f'a{{b}}'", Lang::Python, false),
            ("\"a#{b}\"", Lang::Ruby, true),
            ("'a#{b}'", Lang::Ruby, false),
            ("\"a\\(b)\"", Lang::Swift, true),
            ("\"a$b\"", Lang::Kotlin, true),
            ("$\"a{b}\"", Lang::CSharp, true),
            ("\"a#{b}\"", Lang::Elixir, true),
        ];
        for (src, lang, expected) in cases {
            let mut out = Vec::new();
            tokenize(src.as_bytes(), lang, &mut out);
            assert_eq!(out.len(), 1, "{src}");
            assert_eq!(out[0].interpolated(), expected, "{src}");
        }
    }

    #[test]
    fn rust_lifetimes_are_not_strings() {
        let toks = kinds("const X: &'static str = \"k\";", Lang::Rust);
        assert!(toks.contains(&(Tk::Ident, "'static".into())));
        assert!(toks.contains(&(Tk::Str, "k".into())));
    }

    #[test]
    fn regex_literal_with_quote_does_not_open_a_string() {
        let toks = kinds("s.replace(/'/g, ''); posthog.capture('x')", Lang::Js);
        assert!(toks.contains(&(Tk::Str, "x".into())));
    }

    #[test]
    fn unterminated_string_ends_at_line_end() {
        let toks = kinds("<p>Don't</p>\nposthog.capture('x')", Lang::Ts);
        assert!(toks.contains(&(Tk::Str, "x".into())));
    }

    #[test]
    fn erb_tags_are_ruby_and_scripts_are_browser_code_without_the_tags() {
        let src = "<%# a %>\n<%% b %>\n<p>c</p>\n<%- d -%>\n<%= e %>\n<%\nf\n%>\n<script>\ng(<%= h %>, '<%= i %>')\n</script>";
        let mut out = Vec::new();
        tokenize(src.as_bytes(), Lang::Erb, &mut out);
        let seen: Vec<(String, u32, bool, bool)> = out
            .iter()
            .map(|t| {
                let text = String::from_utf8_lossy(t.text(src.as_bytes())).into_owned();
                (text, t.line, t.flags & BROWSER != 0, t.flags & SPLICED != 0)
            })
            .collect();
        let row = |s: &str, l: u32, b: bool, sp: bool| (s.to_string(), l, b, sp);
        assert_eq!(
            seen,
            vec![
                row("d", 4, false, false),
                row("-%>", 4, false, false),
                row("e", 5, false, false),
                row("%>", 5, false, false),
                row("f", 7, false, false),
                row("%>", 8, false, false),
                row("h", 10, false, false),
                row("%>", 10, false, false),
                row("i", 10, false, false),
                row("%>", 10, false, false),
                row("g", 10, true, false),
                row("(", 10, true, false),
                row("<%= h %>", 10, true, false),
                row(",", 10, true, false),
                row("'<%= i %>'", 10, true, true),
                row(")", 10, true, false),
            ]
        );
    }

    #[test]
    fn vue_template_directives_are_code_but_text_is_not() {
        let src = "<template><button @click=\"posthog.capture('a')\">posthog.capture('b')</button></template>\n<script>\nposthog.capture('c')\n</script>";
        let toks = kinds(src, Lang::Vue);
        let strings: Vec<_> = toks
            .iter()
            .filter(|t| t.0 == Tk::Str)
            .map(|t| t.1.clone())
            .collect();
        assert_eq!(strings, vec!["a".to_string(), "c".to_string()]);
        let mut out = Vec::new();
        tokenize(src.as_bytes(), Lang::Vue, &mut out);
        assert_eq!(out.last().map(|t| t.line), Some(3));
    }
}
