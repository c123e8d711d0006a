//! Calibration aid: reads messages, one per line, on stdin and prints, per message, which crisis
//! rule layer fired (phrase or structure) and the pattern or words it matched, or `-`.
//! Run: `cargo run --release --example crisis_why < messages.txt`.
use std::io::BufRead;

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content");
    let today = chrono::Local::now().date_naive();
    let content = match workhealth::content::load_valid(&root, today) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let m = workhealth::assistant::crisis::CrisisMatcher::new(&content.crisis);
    for line in std::io::stdin().lock().lines() {
        let line = line.expect("stdin");
        match m.check(&line) {
            Some(s) => println!("{:?}\t{}\t{}", s.layer, s.matched, line),
            None => println!("-\t-\t{line}"),
        }
    }
}
