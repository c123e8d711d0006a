//! The Markdown subset answers may use: paragraphs, lists, bold, italic and https links.
//!
//! Parsed with pulldown-cmark (CommonMark, no extensions), so what `check` accepts is exactly
//! what the renderers will see.

use pulldown_cmark::{Event, Parser, Tag};

/// One construct outside the subset, with its byte offset in the Markdown text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub offset: usize,
    pub message: String,
}

/// Returns every construct in `text` that the subset does not allow.
pub fn violations(text: &str) -> Vec<Violation> {
    let mut out = Vec::new();
    for (event, range) in Parser::new(text).into_offset_iter() {
        let bad = match &event {
            Event::Start(tag) => match tag {
                Tag::Paragraph | Tag::List(_) | Tag::Item | Tag::Strong | Tag::Emphasis => None,
                Tag::Link { dest_url, .. } => {
                    if dest_url.starts_with("https://") {
                        None
                    } else {
                        Some(format!("link to `{dest_url}` is not https://"))
                    }
                }
                Tag::Heading { .. } => {
                    Some("headings are not allowed (use a **bold** line instead)".into())
                }
                Tag::BlockQuote(_) => Some("block quotes are not allowed".into()),
                Tag::CodeBlock(_) => {
                    Some("code blocks are not allowed (is a line indented by four spaces?)".into())
                }
                Tag::Image { .. } => Some("images are not allowed".into()),
                Tag::HtmlBlock => Some("HTML is not allowed".into()),
                other => Some(format!("{other:?} is not allowed")),
            },
            Event::End(_) | Event::Text(_) | Event::SoftBreak | Event::HardBreak => None,
            Event::Code(_) => Some("inline code is not allowed".into()),
            Event::Html(_) | Event::InlineHtml(_) => Some("HTML is not allowed".into()),
            Event::Rule => Some("horizontal rules are not allowed".into()),
            other => Some(format!("{other:?} is not allowed")),
        };
        if let Some(message) = bad {
            out.push(Violation {
                offset: range.start,
                message,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> Vec<String> {
        violations(text).into_iter().map(|v| v.message).collect()
    }

    #[test]
    fn the_subset_passes() {
        let text = "Do this first.\n\n**What the law says**\n\n- one *two*\n- [three](https://www.gov.uk)\n\n1. a\n2. b\n";
        assert!(check(text).is_empty(), "{:?}", check(text));
    }

    #[test]
    fn everything_else_is_refused() {
        assert_eq!(check("# Heading").len(), 1);
        assert_eq!(check("> quoted").len(), 1);
        assert_eq!(check("use `code`").len(), 1);
        assert_eq!(check("a <b>bold</b> word").len(), 2);
        assert_eq!(check("![img](https://x.org/a.png)").len(), 1);
        assert_eq!(check("---").len(), 1);
        assert_eq!(check("    indented code").len(), 1);
        assert_eq!(
            check("[plain](http://example.org)"),
            vec!["link to `http://example.org` is not https://"]
        );
    }

    #[test]
    fn offsets_point_at_the_construct() {
        let v = violations("fine\n\n## bad\n");
        assert_eq!(v[0].offset, 6);
    }
}
