//! Generates the A64 decoder from the declarative tables in `tables/*.tbl`.
//!
//! Table line format (one encoding per line, `#` starts a comment):
//!
//! ```text
//! NAME | pattern | handler | options
//! ADD_imm | sf:1 op:1 S:1 100010 sh:1 imm12:12 rn:5 rd:5 | crate::int::add_sub_imm |
//! ```
//!
//! * `pattern` lists the 32 bits from bit 31 down to bit 0 as tokens separated by spaces:
//!   runs of `0`/`1` (fixed bits), `x` (don't care) or `name:width` (a named field;
//!   it is extracted for the handler). The widths must add up to 32.
//! * `handler` is a path to `fn(&mut crate::lower::Builder, crate::decode::fields::NAME)`.
//! * `options`: `prio=N` (default 0). When two patterns can match the same word, the one
//!   with the higher priority wins; equal priorities on overlapping patterns are an error.
//!
//! Output (in OUT_DIR/decoder.rs): the `Enc` enum, one field struct per encoding, a
//! decision tree (multi-way switches on bit runs that all candidates fix, else single-bit
//! splits) with short leaf lists, and the dispatch to handlers.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

struct Field {
    name: String,
    lo: u32,
    width: u32,
}

struct Line {
    name: String,
    mask: u32,
    value: u32,
    fields: Vec<Field>,
    handler: String,
    prio: i32,
    origin: String,
}

fn parse_line(origin: &str, text: &str) -> Result<Line, String> {
    let parts: Vec<&str> = text.split('|').map(|s| s.trim()).collect();
    if parts.len() < 3 || parts.len() > 4 {
        return Err(format!(
            "{origin}: expected `NAME | pattern | handler | options`"
        ));
    }
    let name = parts[0].to_string();
    if name.is_empty()
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        || name.starts_with(|c: char| c.is_ascii_digit())
    {
        return Err(format!("{origin}: bad encoding name `{name}`"));
    }
    let mut pos: i32 = 32;
    let mut mask = 0u32;
    let mut value = 0u32;
    let mut fields = Vec::new();
    for tok in parts[1].split_whitespace() {
        if let Some((fname, w)) = tok.split_once(':') {
            let width: u32 = w
                .parse()
                .map_err(|_| format!("{origin}: bad field width in `{tok}`"))?;
            if width == 0 || width > 32 {
                return Err(format!("{origin}: bad field width in `{tok}`"));
            }
            if !fname.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || fname.is_empty()
                || fname.starts_with(|c: char| c.is_ascii_digit())
                || fname == "raw"
                || KEYWORDS.contains(&fname)
            {
                return Err(format!("{origin}: bad field name `{fname}`"));
            }
            pos -= width as i32;
            if pos < 0 {
                return Err(format!("{origin}: pattern longer than 32 bits"));
            }
            if fields.iter().any(|f: &Field| f.name == fname) {
                return Err(format!("{origin}: duplicate field `{fname}`"));
            }
            fields.push(Field {
                name: fname.to_string(),
                lo: pos as u32,
                width,
            });
        } else {
            for c in tok.chars() {
                pos -= 1;
                if pos < 0 {
                    return Err(format!("{origin}: pattern longer than 32 bits"));
                }
                match c {
                    '0' => mask |= 1 << pos,
                    '1' => {
                        mask |= 1 << pos;
                        value |= 1 << pos;
                    }
                    'x' => {}
                    _ => return Err(format!("{origin}: bad pattern character `{c}`")),
                }
            }
        }
    }
    if pos != 0 {
        return Err(format!("{origin}: pattern is {} bits, not 32", 32 - pos));
    }
    let handler = parts[2].to_string();
    if handler.is_empty()
        || !handler
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    {
        return Err(format!("{origin}: bad handler path `{handler}`"));
    }
    let mut prio = 0;
    if parts.len() == 4 {
        for opt in parts[3].split_whitespace() {
            if let Some(p) = opt.strip_prefix("prio=") {
                prio = p
                    .parse()
                    .map_err(|_| format!("{origin}: bad priority `{opt}`"))?;
            } else {
                return Err(format!("{origin}: unknown option `{opt}`"));
            }
        }
    }
    Ok(Line {
        name,
        mask,
        value,
        fields,
        handler,
        prio,
        origin: origin.to_string(),
    })
}

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

enum Node {
    Split {
        bit: u32,
        zero: usize,
        one: usize,
    },
    Switch {
        shift: u32,
        width: u32,
        first: usize,
    },
    Leaf {
        start: usize,
        len: usize,
    },
}

struct Tree<'a> {
    lines: &'a [Line],
    nodes: Vec<Node>,
    leaves: Vec<usize>,
    switch: Vec<usize>,
}

impl Tree<'_> {
    fn build(&mut self, cands: Vec<usize>, tested: u32, depth: u32) -> usize {
        let idx = self.nodes.len();
        self.nodes.push(Node::Leaf { start: 0, len: 0 });
        // Multi-way switch on the longest run of bits that every candidate fixes.
        if cands.len() > 3 {
            let common = cands.iter().fold(!tested, |m, &c| m & self.lines[c].mask);
            let maxw = (usize::BITS - cands.len().leading_zeros()).clamp(2, 5);
            let (mut best_lo, mut best_w) = (0u32, 0u32);
            let mut lo = 0u32;
            while lo < 32 {
                if common & (1 << lo) == 0 {
                    lo += 1;
                    continue;
                }
                let mut w = 0u32;
                while lo + w < 32 && common & (1 << (lo + w)) != 0 {
                    w += 1;
                }
                if w >= best_w {
                    best_lo = lo + w.saturating_sub(maxw);
                    best_w = w.min(maxw);
                }
                lo += w;
            }
            if best_w >= 2 {
                let m = (1u32 << best_w) - 1;
                let mut children = Vec::new();
                for k in 0..=m {
                    let sub: Vec<usize> = cands
                        .iter()
                        .copied()
                        .filter(|&c| (self.lines[c].value >> best_lo) & m == k)
                        .collect();
                    children.push(sub);
                }
                // Only worth it if the candidates really spread out.
                if children.iter().all(|c| c.len() < cands.len()) {
                    let t = tested | (m << best_lo);
                    let kids: Vec<usize> = children
                        .into_iter()
                        .map(|c| self.build(c, t, depth + 1))
                        .collect();
                    let first = self.switch.len();
                    self.switch.extend(kids);
                    self.nodes[idx] = Node::Switch {
                        shift: best_lo,
                        width: best_w,
                        first,
                    };
                    return idx;
                }
            }
        }
        let mut best: Option<(u32, usize, usize)> = None;
        if cands.len() > 3 && depth < 24 {
            for bit in 0..32 {
                if tested & (1 << bit) != 0 {
                    continue;
                }
                let (mut n0, mut n1) = (0, 0);
                for &c in &cands {
                    let l = &self.lines[c];
                    if l.mask & (1 << bit) == 0 {
                        n0 += 1;
                        n1 += 1;
                    } else if l.value & (1 << bit) == 0 {
                        n0 += 1;
                    } else {
                        n1 += 1;
                    }
                }
                let worst = n0.max(n1);
                if worst < cands.len()
                    && best.is_none_or(|(_, b0, b1)| {
                        worst + (n0 + n1) / 4 < b0.max(b1) + (b0 + b1) / 4
                    })
                {
                    best = Some((bit, n0, n1));
                }
            }
        }
        match best {
            Some((bit, _, _)) => {
                let side = |v: u32| -> Vec<usize> {
                    cands
                        .iter()
                        .copied()
                        .filter(|&c| {
                            let l = &self.lines[c];
                            l.mask & (1 << bit) == 0 || (l.value >> bit) & 1 == v
                        })
                        .collect()
                };
                let (c0, c1) = (side(0), side(1));
                let zero = self.build(c0, tested | (1 << bit), depth + 1);
                let one = self.build(c1, tested | (1 << bit), depth + 1);
                self.nodes[idx] = Node::Split { bit, zero, one };
            }
            None => {
                let mut c = cands;
                // Higher priority first; then more specific first (only matters for
                // non-overlapping patterns, where order is irrelevant anyway).
                c.sort_by_key(|&i| {
                    (
                        -self.lines[i].prio,
                        -(self.lines[i].mask.count_ones() as i32),
                        i,
                    )
                });
                let start = self.leaves.len();
                self.leaves.extend_from_slice(&c);
                self.nodes[idx] = Node::Leaf {
                    start,
                    len: c.len(),
                };
            }
        }
        idx
    }
}

fn main() {
    if let Err(e) = run() {
        eprintln!("a64 build.rs: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), String> {
    let dir = Path::new("tables");
    println!("cargo:rerun-if-changed=tables");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| format!("reading tables/: {e}"))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "tbl"))
        .collect();
    files.sort();
    let mut lines = Vec::new();
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        for (i, raw) in text.lines().enumerate() {
            let t = raw.split('#').next().unwrap_or("").trim();
            if t.is_empty() {
                continue;
            }
            let origin = format!("{}:{}", f.display(), i + 1);
            lines.push(parse_line(&origin, t)?);
        }
    }
    let mut names = HashSet::new();
    for l in &lines {
        if !names.insert(l.name.clone()) {
            return Err(format!(
                "{}: duplicate encoding name `{}`",
                l.origin, l.name
            ));
        }
    }
    // Overlap check: two patterns overlap iff they agree on the bits both fix.
    let mut errors = Vec::new();
    for i in 0..lines.len() {
        for j in i + 1..lines.len() {
            let (a, b) = (&lines[i], &lines[j]);
            let common = a.mask & b.mask;
            if (a.value ^ b.value) & common == 0 && a.prio == b.prio {
                errors.push(format!(
                    "ambiguous overlap between {} ({}) and {} ({}) at equal priority {}: give one a higher prio=",
                    a.name, a.origin, b.name, b.origin, a.prio
                ));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }

    let mut tree = Tree {
        lines: &lines,
        nodes: Vec::new(),
        leaves: Vec::new(),
        switch: Vec::new(),
    };
    tree.build((0..lines.len()).collect(), 0, 0);

    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "// @generated by engine/a64/build.rs from tables/*.tbl. Do not edit."
    );
    let _ = writeln!(w, "/// Number of encodings in the tables.");
    let _ = writeln!(w, "pub const ENCODING_COUNT: usize = {};", lines.len());
    let _ = writeln!(w, "/// One variant per table line.");
    let _ = writeln!(w, "#[allow(non_camel_case_types, missing_docs)]");
    let _ = writeln!(
        w,
        "#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]\n#[repr(u16)]\npub enum Enc {{"
    );
    for l in &lines {
        let _ = writeln!(w, "    {},", l.name);
    }
    let _ = writeln!(w, "}}");
    let _ = writeln!(
        w,
        "/// Every encoding, in table order.\npub const ALL: [Enc; {}] = [",
        lines.len()
    );
    for l in &lines {
        let _ = writeln!(w, "    Enc::{},", l.name);
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(
        w,
        "/// (mask, value, priority, name, table line) per encoding, indexed by `Enc as usize`."
    );
    let _ = writeln!(
        w,
        "pub const INFO: [(u32, u32, i32, &str, &str); {}] = [",
        lines.len()
    );
    for l in &lines {
        let _ = writeln!(
            w,
            "    ({:#010x}, {:#010x}, {}, {:?}, {:?}),",
            l.mask, l.value, l.prio, l.name, l.origin
        );
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(
        w,
        "/// Field structs, one per encoding, named like the encoding.\npub mod fields {{"
    );
    for l in &lines {
        let _ = writeln!(w, "    /// Fields of `{}` ({}).", l.name, l.origin);
        let _ = writeln!(
            w,
            "    #[allow(non_camel_case_types, non_snake_case, missing_docs)]"
        );
        let _ = writeln!(w, "    #[derive(Clone, Copy, Debug, PartialEq, Eq)]\n    pub struct {} {{\n        pub raw: u32,", l.name);
        for f in &l.fields {
            let _ = writeln!(w, "        pub {}: u32,", f.name);
        }
        let _ = writeln!(w, "    }}\n    impl {} {{", l.name);
        let _ = writeln!(w, "        /// Extracts the fields from an instruction word.\n        #[inline]\n        pub const fn from_raw(raw: u32) -> Self {{\n            Self {{ raw,");
        for f in &l.fields {
            let m: u64 = (1u64 << f.width) - 1;
            if f.lo == 0 {
                let _ = writeln!(w, "                {}: raw & {:#x},", f.name, m);
            } else if f.lo + f.width == 32 {
                let _ = writeln!(w, "                {}: raw >> {},", f.name, f.lo);
            } else {
                let _ = writeln!(
                    w,
                    "                {}: (raw >> {}) & {:#x},",
                    f.name, f.lo, m
                );
            }
        }
        let _ = writeln!(w, "            }}\n        }}\n    }}");
    }
    let _ = writeln!(w, "}}");
    // Decision tree: (kind_or_bit, a, b): kind 0xff = leaf(start=a, len=b), else split on bit.
    let _ = writeln!(w, "static TREE: [(u8, u16, u16); {}] = [", tree.nodes.len());
    for n in &tree.nodes {
        match n {
            Node::Split { bit, zero, one } => {
                let _ = writeln!(w, "    ({bit}, {zero}, {one}),");
            }
            Node::Switch {
                shift,
                width,
                first,
            } => {
                let _ = writeln!(w, "    ({}, {shift}, {first}),", 0x80 | width);
            }
            Node::Leaf { start, len } => {
                let _ = writeln!(w, "    (0xff, {start}, {len}),");
            }
        }
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(w, "static SWITCH: [u16; {}] = [", tree.switch.len());
    for k in &tree.switch {
        let _ = writeln!(w, "    {k},");
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(
        w,
        "static LEAVES: [(u32, u32, Enc); {}] = [",
        tree.leaves.len()
    );
    for &i in &tree.leaves {
        let l = &lines[i];
        let _ = writeln!(
            w,
            "    ({:#010x}, {:#010x}, Enc::{}),",
            l.mask, l.value, l.name
        );
    }
    let _ = writeln!(w, "];");
    let _ = writeln!(
        w,
        "/// Finds the encoding of an instruction word; `None` means unallocated (UNDEF).
#[inline]
pub fn decode_enc(insn: u32) -> Option<Enc> {{
    let mut n = 0usize;
    loop {{
        let (k, a, b) = TREE[n];
        if k == 0xff {{
            for &(m, v, e) in &LEAVES[a as usize..a as usize + b as usize] {{
                if insn & m == v {{
                    return Some(e);
                }}
            }}
            return None;
        }}
        if k & 0x80 != 0 {{
            let m = (1u32 << (k & 0x7f)) - 1;
            n = SWITCH[b as usize + ((insn >> a) & m) as usize] as usize;
            continue;
        }}
        n = if (insn >> k) & 1 != 0 {{ b as usize }} else {{ a as usize }};
    }}
}}"
    );
    let _ = writeln!(w, "/// Calls the table's handler for `enc` on `insn`.\npub(crate) fn dispatch(b: &mut crate::lower::Builder, insn: u32, enc: Enc) {{\n    match enc {{");
    for l in &lines {
        let _ = writeln!(
            w,
            "        Enc::{0} => {1}(b, fields::{0}::from_raw(insn)),",
            l.name, l.handler
        );
    }
    let _ = writeln!(w, "    }}\n}}");
    let out = std::env::var("OUT_DIR").map_err(|e| format!("OUT_DIR: {e}"))?;
    std::fs::write(Path::new(&out).join("decoder.rs"), o)
        .map_err(|e| format!("writing decoder.rs: {e}"))?;
    let depth = max_depth(&tree, 0);
    let maxleaf = tree
        .nodes
        .iter()
        .map(|n| {
            if let Node::Leaf { len, .. } = n {
                *len
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0);
    println!(
        "cargo:rustc-env=A64_TREE_STATS=encodings={} nodes={} depth={} max_leaf={}",
        lines.len(),
        tree.nodes.len(),
        depth,
        maxleaf
    );
    Ok(())
}

fn max_depth(t: &Tree, i: usize) -> usize {
    match t.nodes[i] {
        Node::Leaf { .. } => 0,
        Node::Split { zero, one, .. } => 1 + max_depth(t, zero).max(max_depth(t, one)),
        Node::Switch { width, first, .. } => {
            1 + (0..1usize << width)
                .map(|k| max_depth(t, t.switch[first + k]))
                .max()
                .unwrap_or(0)
        }
    }
}
