//! The live assistant: swapped atomically when content is reloaded, so every question is
//! answered entirely by one version of the content.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;

use crate::assistant::Assistant;

pub struct Live {
    current: ArcSwap<Assistant>,
    /// Why the live content is stale: the errors of the last failed reload, if any.
    problem: Mutex<Option<String>>,
}

impl Live {
    pub fn new(a: Assistant) -> Live {
        Live {
            current: ArcSwap::from_pointee(a),
            problem: Mutex::new(None),
        }
    }

    /// The assistant to answer one question with (hold it for the whole question).
    pub fn get(&self) -> Arc<Assistant> {
        self.current.load_full()
    }

    pub fn swap(&self, a: Assistant) {
        self.current.store(Arc::new(a));
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    pub fn set_problem(&self, why: String) {
        *self.problem.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
    }

    pub fn problem(&self) -> Option<String> {
        self.problem
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}
