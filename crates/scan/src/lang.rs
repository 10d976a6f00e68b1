//! Source languages the scanner understands, chosen from a file's name.
//!
//! Invariant: every language belongs to exactly one [`Family`]; identifiers are only ever
//! resolved against definitions from files of the same family (a TypeScript file cannot
//! import a Python constant), which keeps resolution precise and lets the resolver skip
//! whole languages.

/// One language, as far as the tokenizer and the call table care.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Lang {
    Js,
    Ts,
    Vue,
    Svelte,
    /// HTML pages and server templates (`.html`, `.htm`, `.ejs`, `.hbs`, …): only
    /// their inline `<script>` blocks and `on…` handler attributes are code.
    Markup,
    /// ERB views (`.erb`): Ruby in `<% … %>` tags; the markup around them as [`Lang::Markup`].
    Erb,
    /// Astro components: TypeScript frontmatter, `<script>` blocks, `{ … }` expressions.
    Astro,
    Python,
    Go,
    Ruby,
    Php,
    Java,
    Kotlin,
    Swift,
    ObjC,
    Dart,
    CSharp,
    Elixir,
    Rust,
}

/// Languages that can refer to each other's constants.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub(crate) enum Family {
    Js,
    Python,
    Go,
    Ruby,
    Php,
    Jvm,
    Apple,
    Dart,
    DotNet,
    Elixir,
    Rust,
}

impl Lang {
    /// The language of a file from its name, or `None` for files the scanner skips
    /// (unknown extensions, TypeScript declaration files, minified bundles).
    pub(crate) fn from_path(path: &str) -> Option<Lang> {
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.contains(".min.") || name.ends_with(".d.ts") || name.ends_with(".d.mts") {
            return None;
        }
        let ext = name.rsplit_once('.')?.1;
        Some(match ext {
            "js" | "jsx" | "mjs" | "cjs" => Lang::Js,
            "ts" | "tsx" | "mts" | "cts" => Lang::Ts,
            "vue" => Lang::Vue,
            "svelte" => Lang::Svelte,
            "erb" => Lang::Erb,
            "html" | "htm" | "xhtml" | "ejs" | "hbs" | "handlebars" | "mustache" | "njk"
            | "liquid" | "twig" | "phtml" | "jinja" | "j2" => Lang::Markup,
            "astro" => Lang::Astro,
            "py" | "pyi" => Lang::Python,
            "go" => Lang::Go,
            "rb" | "rake" => Lang::Ruby,
            "php" => Lang::Php,
            "java" => Lang::Java,
            "kt" | "kts" => Lang::Kotlin,
            "swift" => Lang::Swift,
            "m" | "mm" => Lang::ObjC,
            "dart" => Lang::Dart,
            "cs" => Lang::CSharp,
            "ex" | "exs" => Lang::Elixir,
            "rs" => Lang::Rust,
            _ => return None,
        })
    }

    pub(crate) fn family(self) -> Family {
        match self {
            Lang::Js | Lang::Ts | Lang::Vue | Lang::Svelte | Lang::Markup | Lang::Astro => {
                Family::Js
            }
            Lang::Python => Family::Python,
            Lang::Go => Family::Go,
            Lang::Ruby | Lang::Erb => Family::Ruby,
            Lang::Php => Family::Php,
            Lang::Java | Lang::Kotlin => Family::Jvm,
            Lang::Swift | Lang::ObjC => Family::Apple,
            Lang::Dart => Family::Dart,
            Lang::CSharp => Family::DotNet,
            Lang::Elixir => Family::Elixir,
            Lang::Rust => Family::Rust,
        }
    }

    /// Languages whose calls may omit parentheses (`capture "x", %{}`).
    pub(crate) fn parenless_calls(self) -> bool {
        matches!(self, Lang::Ruby | Lang::Erb | Lang::Elixir)
    }

    /// Languages whose scopes are indentation (Python) or `end`-delimited (Ruby), so class
    /// bodies are found by indentation instead of braces.
    pub(crate) fn indent_scoped(self) -> bool {
        matches!(self, Lang::Python | Lang::Ruby | Lang::Erb)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_language_from_extension_and_skips_bundles() {
        assert_eq!(Lang::from_path("web/src/App.tsx"), Some(Lang::Ts));
        assert_eq!(Lang::from_path("api/app.py"), Some(Lang::Python));
        assert_eq!(Lang::from_path("lib/x.ex"), Some(Lang::Elixir));
        assert_eq!(Lang::from_path("static/app.min.js"), None);
        assert_eq!(Lang::from_path("types/index.d.ts"), None);
        assert_eq!(Lang::from_path("README.md"), None);
        assert_eq!(Lang::from_path("Makefile"), None);
    }
}
