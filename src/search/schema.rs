//! The index schema, built for this corpus: an exact id and kind, four analysed text fields
//! with their own boosts, and topic and regions as exact-match strings.

use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use super::analyse::ANALYSER;

/// The fields of the index, and how much a match in each counts.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    pub id: Field,
    pub kind: Field,
    pub title: Field,
    pub questions: Field,
    pub summary: Field,
    pub body: Field,
    pub topic: Field,
    pub regions: Field,
}

/// Field weights. The editors' `questions:` lines count most; the answer body counts as much
/// as the title because it carries the specific words (nurse, SSP1, 28 weeks) people ask
/// about. Chosen by sweeping the weights over the dev set and the editors' own tests
/// (docs/calibration.md).
pub const TITLE_BOOST: f32 = 1.0;
pub const QUESTIONS_BOOST: f32 = 1.5;
pub const SUMMARY_BOOST: f32 = 1.0;
pub const BODY_BOOST: f32 = 1.0;

impl Fields {
    pub fn schema() -> (Schema, Fields) {
        let mut b = Schema::builder();
        let text = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(ANALYSER)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        let fields = Fields {
            id: b.add_text_field("id", STRING | STORED),
            kind: b.add_text_field("kind", STRING | STORED),
            title: b.add_text_field("title", text.clone()),
            questions: b.add_text_field("questions", text.clone()),
            summary: b.add_text_field("summary", text.clone()),
            body: b.add_text_field("body", text),
            topic: b.add_text_field("topic", STRING),
            regions: b.add_text_field("regions", STRING),
        };
        (b.build(), fields)
    }

    pub fn from_schema(schema: &Schema) -> tantivy::Result<Fields> {
        let f = |name: &str| schema.get_field(name);
        Ok(Fields {
            id: f("id")?,
            kind: f("kind")?,
            title: f("title")?,
            questions: f("questions")?,
            summary: f("summary")?,
            body: f("body")?,
            topic: f("topic")?,
            regions: f("regions")?,
        })
    }

    /// The analysed text fields with their boosts, best first.
    pub fn weighted(&self) -> [(Field, f32); 4] {
        [
            (self.title, TITLE_BOOST),
            (self.questions, QUESTIONS_BOOST),
            (self.summary, SUMMARY_BOOST),
            (self.body, BODY_BOOST),
        ]
    }
}
