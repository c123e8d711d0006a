//! Answer Markdown (the checked subset) to plain terminal text, with pulldown-cmark.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};

/// Plain text: paragraphs separated by blank lines, list items as "- " or "1. ", link
/// targets in brackets after the link text.
pub fn to_plain(md: &str) -> String {
    let mut out = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let mut link: Option<String> = None;
    for ev in Parser::new(md) {
        match ev {
            Event::Start(Tag::List(start)) => {
                // A nested list starts on a line of its own, under its parent item.
                if !lists.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                let indent = "  ".repeat(lists.len().saturating_sub(1));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{indent}{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str(&format!("{indent}- ")),
                }
            }
            Event::End(TagEnd::Item) if !out.ends_with('\n') => {
                out.push('\n');
            }
            Event::End(TagEnd::Paragraph) => {
                if lists.is_empty() {
                    out.push_str("\n\n");
                } else {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take() {
                    out.push_str(&format!(" <{url}>"));
                }
            }
            Event::Text(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            _ => {}
        }
    }
    let trimmed = out.trim_end().to_string();
    trimmed.replace("\n\n\n", "\n\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_links_and_paragraphs() {
        let md = "Do this.\n\n**Law**\n\n- one [two](https://x.org)\n- three\n\n1. a\n2. b\n";
        assert_eq!(
            super::to_plain(md),
            "Do this.\n\nLaw\n\n- one two <https://x.org>\n- three\n\n1. a\n2. b"
        );
    }

    #[test]
    fn a_nested_list_is_indented_under_its_parent() {
        let md = "- **NHS 111**: call 111\n  - option 2\n  - any time\n- Samaritans\n\nAfter.";
        assert_eq!(
            super::to_plain(md),
            "- NHS 111: call 111\n  - option 2\n  - any time\n- Samaritans\n\nAfter."
        );
    }
}
