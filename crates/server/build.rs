//! Embeds the GraphiQL page's third-party files into the binary.
//!
//! `.ci/fetch-graphiql` (`just assets`) fetches them from the npm registry into
//! `assets/vendor/`, which is not committed. When all of them are there this script copies
//! them into `OUT_DIR/graphiql/` and sets `cfg(cognigraph_graphiql_bundled)`; otherwise it
//! writes small placeholders so that a fresh clone still compiles, and the server answers
//! `GET /` with 503. It never touches the network.
//!
//! It also sets `COGNIGRAPH_GRAPHIQL_ASSET_VERSION`, a fingerprint of every file served under
//! `/graphiql/`, which the page appends to their URLs so they can be cached for long.

use std::{
    env, fs, io,
    path::{Path, PathBuf},
};

/// The files `.ci/fetch-graphiql` writes into `assets/vendor/`.
const VENDOR_FILES: [&str; 4] = [
    "react.production.min.js",
    "react-dom.production.min.js",
    "graphiql.min.js",
    "graphiql.min.css",
];

/// Our own script, committed beside the page; part of the fingerprint.
const INIT_SCRIPT: &str = "graphiql-init.js";

fn main() -> io::Result<()> {
    let manifest_dir = env_path("CARGO_MANIFEST_DIR")?;
    let out_dir = env_path("OUT_DIR")?.join("graphiql");
    let assets = manifest_dir.join("assets");
    let vendor = assets.join("vendor");

    // Cargo scans a directory recursively; `assets/` always exists, so this also notices the
    // vendor folder appearing. Paths that do not exist are never named: Cargo would rerun the
    // script (and rebuild the crate) on every build.
    rerun_if_changed(&assets);
    if vendor.is_dir() {
        rerun_if_changed(&vendor);
    }
    for name in VENDOR_FILES {
        let path = vendor.join(name);
        if path.is_file() {
            rerun_if_changed(&path);
        }
    }
    println!("cargo::rustc-check-cfg=cfg(cognigraph_graphiql_bundled)");

    fs::create_dir_all(&out_dir)?;
    let missing: Vec<&str> = VENDOR_FILES
        .into_iter()
        .filter(|name| !vendor.join(name).is_file())
        .collect();

    let mut fingerprint = Fnv1a::new();
    fingerprint.write(&fs::read(assets.join(INIT_SCRIPT))?);
    if missing.is_empty() {
        for name in VENDOR_FILES {
            let bytes = fs::read(vendor.join(name))?;
            fingerprint.write(&bytes);
            write_if_changed(&out_dir.join(name), &bytes)?;
        }
        println!("cargo::rustc-cfg=cognigraph_graphiql_bundled");
    } else {
        for name in VENDOR_FILES {
            let placeholder =
                format!("/* {name}: not bundled; run .ci/fetch-graphiql (just assets). */\n");
            fingerprint.write(placeholder.as_bytes());
            write_if_changed(&out_dir.join(name), placeholder.as_bytes())?;
        }
        println!(
            "cargo::warning=GraphiQL is not bundled ({} missing in {}): GET / will answer 503. \
             Run .ci/fetch-graphiql (just assets) and rebuild.",
            missing.join(", "),
            vendor.display(),
        );
    }
    println!(
        "cargo::rustc-env=COGNIGRAPH_GRAPHIQL_ASSET_VERSION={:016x}",
        fingerprint.finish()
    );
    Ok(())
}

fn env_path(name: &str) -> io::Result<PathBuf> {
    env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| io::Error::other(format!("{name} is not set; run this through cargo")))
}

fn rerun_if_changed(path: &Path) {
    println!("cargo::rerun-if-changed={}", path.display());
}

/// Leaves an identical file alone, so that its mtime does not make `include_bytes!` rebuild.
fn write_if_changed(path: &Path, bytes: &[u8]) -> io::Result<()> {
    match fs::read(path) {
        Ok(existing) if existing == bytes => Ok(()),
        _ => fs::write(path, bytes),
    }
}

/// 64-bit FNV-1a: stable across builds and Rust versions, and needs no dependency. It only
/// busts caches; the files' integrity is checked by `.ci/fetch-graphiql`.
struct Fnv1a(u64);

impl Fnv1a {
    fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
