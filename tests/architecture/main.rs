//! The architecture's invariants that the compiler does not check (ARCHITECTURE.md):
//!
//! - **Crates import downwards.** Every workspace crate has a layer; a crate's normal dependencies on other
//!   workspace crates are all in lower layers (tests may look sideways: dev-dependencies are not checked).
//! - **No import cycle between the modules of a crate.** A module may use its own submodules freely (it
//!   declares them); any other reference (`crate::a::b`, `super::x`) is an edge from the file that makes it to
//!   the file of the module it names, and those edges form no cycle. Test code (`#[cfg(test)]`, `#[test]`) is
//!   left out.
//!
//! Both read the sources as they are (`cargo metadata`, `syn`), so a new crate or module is covered without
//! a list kept by hand; a new workspace crate must be given a layer here.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

/// The layers, lowest first. A crate may depend on crates of lower layers only.
const LAYERS: &[&[&str]] = &[
    // Pure data and rules: the model, the kernel table's types.
    &["director-core", "director-kernel-table"],
    // Pure cores and the leaves of IO: VRRP machine, keepalived parser, sync registers, health engine,
    // planner, the netlink client, the generated gRPC contract, TLS.
    &[
        "director-vrrp",
        "director-keepalived",
        "director-sync",
        "director-health",
        "director-reconcile",
        "director-ipvs",
        "director-proto",
        "director-tls",
    ],
    // The write path; the gRPC client for pipelines.
    &["director-service", "directorctl"],
    // What follows the desired state; the format conversions.
    &["director-runtime", "director-convert"],
    // The edges.
    &["director-http", "director-grpc"],
    // The composition root.
    &["director"],
    // The end-to-end suites and benchmarks.
    &["director-tests"],
];

fn layer_of(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&name))
}

fn metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// (name, manifest directory, library or binary root source, normal dependencies on workspace crates)
fn workspace_crates() -> Vec<(String, PathBuf, Vec<PathBuf>, Vec<String>)> {
    let meta = metadata();
    let packages = meta["packages"].as_array().expect("packages");
    let names: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let manifest = PathBuf::from(p["manifest_path"].as_str().unwrap_or_default());
            let dir = manifest.parent().map(Path::to_path_buf).unwrap_or_default();
            let roots = p["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    t["kind"]
                        .as_array()
                        .is_some_and(|k| k.iter().any(|k| k == "lib" || k == "bin"))
                })
                .filter_map(|t| t["src_path"].as_str().map(PathBuf::from))
                .collect();
            let deps = p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["kind"].is_null())
                .filter_map(|d| d["name"].as_str())
                .filter(|d| names.contains(d))
                .map(str::to_string)
                .collect();
            (name, dir, roots, deps)
        })
        .collect()
}

#[test]
fn crates_import_downwards() {
    let crates = workspace_crates();
    assert!(crates.len() > 10, "cargo metadata lists the workspace");
    let mut wrong = Vec::new();
    for (name, _, _, deps) in &crates {
        let Some(own) = layer_of(name) else {
            wrong.push(format!(
                "{name} has no layer in tests/architecture/main.rs: give it one"
            ));
            continue;
        };
        for dep in deps {
            match layer_of(dep) {
                Some(l) if l < own => {}
                Some(l) => wrong.push(format!(
                    "{name} (layer {own}) depends on {dep} (layer {l}): imports go down only"
                )),
                None => wrong.push(format!("{dep} has no layer")),
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A module: its path from the crate root (`["web", "pages"]`) and its file.
#[derive(Debug, Clone)]
struct Module {
    path: Vec<String>,
    file: PathBuf,
}

/// The file modules of a crate, from its root file: `mod x;` declarations that are not test code.
fn modules(root: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut queue = vec![Module {
        path: Vec::new(),
        file: root.to_path_buf(),
    }];
    while let Some(m) = queue.pop() {
        let Ok(text) = std::fs::read_to_string(&m.file) else {
            panic!("cannot read {}", m.file.display());
        };
        let ast = syn::parse_file(&text)
            .unwrap_or_else(|e| panic!("cannot parse {}: {e}", m.file.display()));
        // Where the submodules' files are: next to a root or a mod.rs, else in a directory of the module's name.
        let stem = m.file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let dir = m.file.parent().map(Path::to_path_buf).unwrap_or_default();
        let base = if m.path.is_empty() || stem == "mod" {
            dir
        } else {
            dir.join(stem)
        };
        for item in &ast.items {
            let syn::Item::Mod(decl) = item else { continue };
            if decl.content.is_some() || is_test(&decl.attrs) {
                continue;
            }
            let name = decl.ident.to_string();
            let flat = base.join(format!("{name}.rs"));
            let file = if flat.exists() {
                flat
            } else {
                base.join(&name).join("mod.rs")
            };
            let mut path = m.path.clone();
            path.push(name);
            queue.push(Module { path, file });
        }
        out.push(m);
    }
    out
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        if a.path().is_ident("test") {
            return true;
        }
        if !a.path().is_ident("cfg") {
            return false;
        }
        let mut test = false;
        let _ = a.parse_nested_meta(|meta| {
            if meta.path.is_ident("test") {
                test = true;
            }
            Ok(())
        });
        test
    })
}

/// Every path a file names, made absolute (from the crate root) where it starts with `crate`, `self` or
/// `super`; test code is skipped.
struct Paths {
    here: Vec<String>,
    found: Vec<Vec<String>>,
}

impl Paths {
    fn absolute(&self, segments: &[String]) -> Option<Vec<String>> {
        let mut out = match segments.first().map(String::as_str) {
            Some("crate") => Vec::new(),
            Some("self") | Some("super") => self.here.clone(),
            _ => return None,
        };
        let mut rest = segments
            .iter()
            .skip(usize::from(segments[0] == "crate"))
            .peekable();
        if segments[0] == "self" {
            rest.next();
        }
        while rest.peek().map(|s| s.as_str()) == Some("super") {
            rest.next();
            out.pop();
        }
        out.extend(rest.cloned());
        Some(out)
    }

    fn add(&mut self, segments: Vec<String>) {
        if let Some(p) = self.absolute(&segments) {
            self.found.push(p);
        }
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                let mut full = prefix.clone();
                if n.ident != "self" {
                    full.push(n.ident.to_string());
                }
                self.add(full);
            }
            syn::UseTree::Rename(r) => {
                let mut full = prefix.clone();
                if r.ident != "self" {
                    full.push(r.ident.to_string());
                }
                self.add(full);
            }
            syn::UseTree::Glob(_) => self.add(prefix.clone()),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Paths {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        if !is_test(attrs) {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.add(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }
}

/// The edges between a crate's module files, with the reference that makes each.
fn module_edges(root: &Path) -> (Vec<Module>, BTreeMap<(usize, usize), String>) {
    let mods = modules(root);
    let index: BTreeMap<Vec<String>, usize> = mods
        .iter()
        .enumerate()
        .map(|(i, m)| (m.path.clone(), i))
        .collect();
    let mut edges = BTreeMap::new();
    for (from, m) in mods.iter().enumerate() {
        let text = std::fs::read_to_string(&m.file).unwrap_or_default();
        let Ok(ast) = syn::parse_file(&text) else {
            continue;
        };
        let mut paths = Paths {
            here: m.path.clone(),
            found: Vec::new(),
        };
        paths.visit_file(&ast);
        for p in paths.found {
            // The module the path names: its longest prefix that is a module file.
            let Some(to) = (0..=p.len())
                .rev()
                .find_map(|n| index.get(&p[..n]).copied())
            else {
                continue;
            };
            let target = &mods[to].path;
            let descendant = target.len() >= m.path.len() && target[..m.path.len()] == m.path[..];
            if to != from && !descendant {
                edges.entry((from, to)).or_insert_with(|| p.join("::"));
            }
        }
    }
    (mods, edges)
}

/// The cycles of a directed graph: its strongly connected components of more than one node (Tarjan).
fn cycles(n: usize, edges: &BTreeMap<(usize, usize), String>) -> Vec<Vec<usize>> {
    struct Tarjan<'a> {
        next: Vec<Vec<usize>>,
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        counter: usize,
        out: &'a mut Vec<Vec<usize>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: usize) {
            self.index[v] = Some(self.counter);
            self.low[v] = self.counter;
            self.counter += 1;
            self.stack.push(v);
            self.on_stack[v] = true;
            for w in self.next[v].clone() {
                match self.index[w] {
                    None => {
                        self.visit(w);
                        self.low[v] = self.low[v].min(self.low[w]);
                    }
                    Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                    Some(_) => {}
                }
            }
            if Some(self.low[v]) == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    self.out.push(component);
                }
            }
        }
    }
    let mut next = vec![Vec::new(); n];
    for (a, b) in edges.keys() {
        next[*a].push(*b);
    }
    let mut out = Vec::new();
    let mut t = Tarjan {
        next,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        counter: 0,
        out: &mut out,
    };
    for v in 0..n {
        if t.index[v].is_none() {
            t.visit(v);
        }
    }
    out
}

#[test]
fn no_module_imports_in_a_circle() {
    let mut report = Vec::new();
    let mut checked = 0;
    for (name, dir, roots, _) in workspace_crates() {
        for root in roots {
            let (mods, edges) = module_edges(&root);
            checked += mods.len();
            for component in cycles(mods.len(), &edges) {
                let members: BTreeSet<usize> = component.iter().copied().collect();
                let file = |i: usize| {
                    mods[i]
                        .file
                        .strip_prefix(&dir)
                        .unwrap_or(&mods[i].file)
                        .display()
                        .to_string()
                };
                let mut lines = vec![format!(
                    "{name}: {} modules import each other in a circle:",
                    members.len()
                )];
                for ((a, b), via) in &edges {
                    if members.contains(a) && members.contains(b) {
                        lines.push(format!("  {} -> {} ({via})", file(*a), file(*b)));
                    }
                }
                report.push(lines.join("\n"));
            }
        }
    }
    assert!(
        checked > 100,
        "the module tree was read ({checked} modules)"
    );
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let edges: BTreeMap<(usize, usize), String> =
        [((0, 1), ""), ((1, 2), ""), ((2, 0), ""), ((2, 3), "")]
            .into_iter()
            .map(|(e, s)| (e, s.to_string()))
            .collect();
    let found = cycles(4, &edges);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].iter().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([0, 1, 2])
    );
    let paths = Paths {
        here: vec!["web".into(), "pages".into()],
        found: Vec::new(),
    };
    let abs = |s: &str| paths.absolute(&s.split("::").map(String::from).collect::<Vec<_>>());
    assert_eq!(
        abs("super::ui::Ui"),
        Some(vec!["web".into(), "ui".into(), "Ui".into()])
    );
    assert_eq!(
        abs("crate::state::AppState"),
        Some(vec!["state".into(), "AppState".into()])
    );
    assert_eq!(abs("super::super::api"), Some(vec!["api".into()]));
    assert_eq!(abs("std::sync::Arc"), None);
}
