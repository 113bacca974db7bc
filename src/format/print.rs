//! Printing the lossless syntax tree in the canonical layout (described in `docs/format.md`).

use crate::syntax::tree::{CommentText, Syn, Tok, Tree};
use crate::syntax::view::{Decl, Definition, Derive, Fact, Field, FieldSpec, Fx, Given, Inner};
use crate::syntax::view::{Defaults, TypeExpr, Value, expr_parts, toks};
use crate::syntax::view::{Part, Pattern, Primary, Relation, RuleDecl, Schema, Test, TypeAlt};

/// Lists and records longer than this (in characters, indentation included) are written one
/// element per line.
pub const WIDTH: usize = 100;

/// Spaces per level of nesting.
const INDENT: usize = 2;

/// The column where what follows `match `, `when  ` and `flag  ` starts: the keywords are
/// padded to one width so that it lines up, with or without `match`.
const CLAUSE: usize = INDENT + "match ".len();

/// The spaces after a clause keyword (`match`, `when`, `flag`, `from`).
fn clause_pad(kw: &Tok) -> String {
    " ".repeat(
        (CLAUSE - INDENT)
            .saturating_sub(kw.text.chars().count())
            .max(1),
    )
}

/// Prints `tree` in the canonical layout, with `\n` line breaks.
pub(crate) fn print(tree: &Tree<'_>) -> String {
    let mut p = Printer {
        out: String::new(),
        line: String::new(),
        pending: Vec::new(),
        carry: Vec::new(),
        blank_ok: false,
        keep_blanks: true,
        cont: INDENT,
    };
    if tree.bom() {
        p.out.push('\u{feff}');
    }
    // Each declaration starts on a new line; the blank lines before it (and around the comments
    // before it) are kept, at most one in a row, so that groups of declarations stay groups.
    for decl in tree.items() {
        match Decl::of(decl) {
            Decl::Fact(f) => p.fact(&f, 0),
            Decl::Rule(r) => p.rule(&r),
            Decl::Fx(f) => p.fx(&f, 0),
            Decl::Relation(r) => p.relation(&r),
            Decl::Derive(d) => p.derive(&d),
            Decl::Schema(s) => p.schema(&s),
            Decl::Test(t) => p.test(&t),
            Decl::Defaults(d) => p.defaults(&d),
            // The output is checked, so a declaration left out is refused, never lost.
            Decl::Other => {}
        }
    }
    p.end_line();
    let end = Tok {
        lead: tree.end(),
        ..Tok::default()
    };
    p.lead(0, &end, false);
    p.end_line();
    let mut out = p.out;
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// How to start the first token of a value: after a separator on the current line, or on a new
/// line at an indentation.
#[derive(Clone, Copy)]
enum Start<'s> {
    Sep(&'s str),
    Line(usize),
}

/// Whether a list or record is written on one line or one element per line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Broken,
}

struct Printer {
    out: String,
    /// The line being written, indentation included; empty at the start of a line.
    line: String,
    /// Comments to write at the end of the current line (the first) and after it (the others).
    pending: Vec<String>,
    /// Comments to write on their own lines before the next line.
    carry: Vec<String>,
    /// Whether a blank line may be written here (not at the start of the file or of a block,
    /// and not after another blank line).
    blank_ok: bool,
    /// Whether blank lines of the source are kept here (they are not inside a rule).
    keep_blanks: bool,
    /// Indentation of a line that a comment forced to break.
    cont: usize,
}

impl Printer {
    fn write(&mut self, indent: usize, text: &str) {
        if self.line.is_empty() {
            self.line.extend(std::iter::repeat_n(' ', indent));
        }
        self.line.push_str(text);
    }

    /// Ends the current line, with the first pending comment at its end.
    fn end_line(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending).into_iter();
        if let Some(c) = pending.next() {
            self.line.push_str("  ");
            self.line.push_str(&c);
        }
        self.carry.extend(pending);
        let line = std::mem::take(&mut self.line);
        self.out.push_str(line.trim_end());
        self.out.push('\n');
        self.blank_ok = true;
    }

    /// Writes a blank line, unless one was just written or a block just started.
    fn blank(&mut self) {
        if self.blank_ok {
            self.out.push('\n');
            self.blank_ok = false;
        }
    }

    fn comment_line(&mut self, indent: usize, c: &CommentText<'_>) {
        if c.blank_before && self.keep_blanks {
            self.blank();
        }
        self.write(indent, c.text);
        self.end_line();
    }

    /// At the start of a line: the comments carried from the line before, then `t`'s lead
    /// comments, each on its own line; and the blank line before `t` when `t_blank`.
    fn lead(&mut self, indent: usize, t: &Tok, t_blank: bool) {
        for c in std::mem::take(&mut self.carry) {
            self.write(indent, &c);
            self.end_line();
        }
        for c in &t.lead {
            self.comment_line(indent, c);
        }
        if t_blank && t.blank_before && self.keep_blanks {
            self.blank();
        }
    }

    /// `t` at the start of a new line.
    fn item(&mut self, indent: usize, t: &Tok) {
        self.end_line();
        self.lead(indent, t, true);
        self.write(indent, &t.text);
        self.pending.extend(t.trail.iter().map(|c| c.to_string()));
    }

    /// `t` after `sep` on the current line, or on a new line if a comment comes before it.
    fn tok(&mut self, t: &Tok, sep: &str) {
        if !t.lead.is_empty() || !self.pending.is_empty() || self.line.is_empty() {
            self.end_line();
            let indent = self.cont;
            self.lead(indent, t, true);
            self.write(indent, &t.text);
        } else {
            self.line.push_str(sep);
            self.line.push_str(&t.text);
        }
        self.pending.extend(t.trail.iter().map(|c| c.to_string()));
    }

    /// A separator written as `text` (a comma, a colon, or nothing for a dropped comma) right
    /// after what comes before it; its comments go to the end of the line.
    fn glue(&mut self, t: &Tok, text: &str) {
        self.line.push_str(text);
        self.pending
            .extend(t.lead.iter().map(|c| c.text.to_string()));
        self.pending.extend(t.trail.iter().map(|c| c.to_string()));
    }

    fn start(&mut self, t: &Tok, start: Start<'_>) {
        match start {
            Start::Sep(sep) => self.tok(t, sep),
            Start::Line(indent) => self.item(indent, t),
        }
    }

    /// The closing `}` or `]` of a block written one element per line: comments before it at
    /// the block's indentation, then the bracket at `outer`.
    fn close(&mut self, t: &Tok, inner: usize, outer: usize) {
        self.end_line();
        self.lead(inner, t, false);
        self.write(outer, &t.text);
        self.pending.extend(t.trail.iter().map(|c| c.to_string()));
    }

    /// Ends the line that opened a block: no blank line may follow it.
    fn open_block(&mut self) {
        self.end_line();
        self.blank_ok = false;
    }

    // -----------------------------------------------------------------------------------------
    // Declarations

    fn fact(&mut self, f: &Fact<'_>, indent: usize) {
        self.item(indent, &f.keyword);
        self.cont = indent + 2 * INDENT;
        self.tok(&f.id, " ");
        if let Some(t) = &f.title {
            self.tok(t, " ");
        }
        // Comments next to `{` go after it.
        if f.fields.is_empty() && !f.open.has_comments() && f.close.lead.is_empty() {
            self.glue(&f.open, " {}");
            self.glue(&f.close, "");
            return;
        }
        self.glue(&f.open, " {");
        self.open_block();
        self.fields(&f.fields, indent + INDENT);
        self.close(&f.close, indent + INDENT, indent);
    }

    /// A fact given to a test: on one line, like a record, when it fits and holds no comment;
    /// otherwise like a fact in a deal file.
    fn given_fact(&mut self, f: &Fact<'_>, indent: usize) {
        match flat_fact(f) {
            Some(rest) if indent + rest.chars().count() <= WIDTH => {
                self.item(indent, &f.keyword);
                self.line
                    .push_str(rest.get(f.keyword.text.len()..).unwrap_or(""));
                self.pending
                    .extend(f.close.trail.iter().map(|c| c.to_string()));
            }
            _ => self.fact(f, indent),
        }
    }

    /// `test name "title" {`, the `given` clauses, a blank line, then one `expect` per line.
    fn test(&mut self, t: &Test<'_>) {
        self.item(0, &t.keyword);
        self.cont = 2 * INDENT;
        self.tok(&t.name, " ");
        if let Some(title) = &t.title {
            self.tok(title, " ");
        }
        self.glue(&t.open, " {");
        self.open_block();
        self.keep_blanks = false;
        for g in &t.given {
            match g {
                Given::File { keyword, path } => {
                    self.item(INDENT, keyword);
                    self.cont = 3 * INDENT;
                    self.tok(path, " ");
                }
                Given::Facts {
                    keyword,
                    open,
                    decls,
                    close,
                } => {
                    self.item(INDENT, keyword);
                    self.cont = 3 * INDENT;
                    if decls.is_empty() && !open.has_comments() && close.lead.is_empty() {
                        self.glue(open, " {}");
                        self.glue(close, "");
                        continue;
                    }
                    self.glue(open, " {");
                    self.open_block();
                    self.keep_blanks = true;
                    for d in decls {
                        match Decl::of(*d) {
                            Decl::Fact(f) => self.given_fact(&f, 2 * INDENT),
                            Decl::Fx(f) => self.fx(&f, 2 * INDENT),
                            // The grammar allows only facts and rates here; the output is
                            // checked, so anything else would be refused, never written.
                            _ => {}
                        }
                    }
                    self.keep_blanks = false;
                    self.close(close, 2 * INDENT, INDENT);
                }
            }
        }
        if !t.given.is_empty() {
            self.end_line();
            self.blank();
        }
        for (keyword, words) in &t.expects {
            self.expect_clause(keyword, words);
        }
        self.close(&t.close, INDENT, 0);
        self.keep_blanks = true;
    }

    /// `expect` and its words on one line: one space between words, none inside `( )` or
    /// before `,`; a comma before `)` is dropped.
    fn expect_clause(&mut self, keyword: &Tok<'_>, words: &[Tok<'_>]) {
        self.item(INDENT, keyword);
        self.cont = 3 * INDENT;
        let mut sep = " ";
        for (i, w) in words.iter().enumerate() {
            let next_closes = words.get(i + 1).is_some_and(|n| n.text == ")");
            match &*w.text {
                "," if next_closes => self.glue(w, ""),
                "," => {
                    self.glue(w, ",");
                    sep = " ";
                    continue;
                }
                ")" => self.tok(w, ""),
                "(" => {
                    self.tok(w, sep);
                    sep = "";
                    continue;
                }
                _ => self.tok(w, sep),
            }
            sep = " ";
        }
    }

    fn fx(&mut self, f: &Fx<'_>, indent: usize) {
        self.item(indent, &f.keyword);
        self.cont = indent + 2 * INDENT;
        self.tok(&f.pair, " ");
        self.tok(&f.rate, " ");
        if let Some((on, date)) = &f.on {
            self.tok(on, " ");
            self.tok(date, " ");
        }
    }

    /// Settings (of a rule or of `defaults`), one `name: value` per line, in the order given.
    fn settings(&mut self, settings: &[Field<'_>]) {
        for s in settings {
            self.item(INDENT, &s.name);
            self.cont = 3 * INDENT;
            self.glue(&s.colon, ":");
            let col = INDENT + s.name.text.chars().count() + 2;
            let mode = self.mode(&s.value, col, 0);
            self.value(&s.value, Start::Sep(" "), mode);
            if let Some(c) = &s.comma {
                self.glue(c, "");
            }
        }
    }

    /// `defaults {`, then one setting per line in written order, laid out as a rule's settings.
    fn defaults(&mut self, d: &Defaults<'_>) {
        self.item(0, &d.keyword);
        self.cont = 2 * INDENT;
        if d.settings.is_empty() && !d.open.has_comments() && d.close.lead.is_empty() {
            self.glue(&d.open, " {}");
            self.glue(&d.close, "");
            return;
        }
        self.glue(&d.open, " {");
        self.open_block();
        self.keep_blanks = false;
        // As a rule's settings are written, but in written order.
        let settings: Vec<Field<'_>> = d.settings.iter().map(|s| Field::of(*s)).collect();
        self.settings(&settings);
        self.close(&d.close, INDENT, 0);
        self.keep_blanks = true;
    }

    fn rule(&mut self, r: &RuleDecl<'_>) {
        self.item(0, &r.keyword);
        self.cont = 2 * INDENT;
        self.tok(&r.id, " ");
        if let Some(t) = &r.title {
            self.tok(t, " ");
        }
        self.glue(&r.open, " {");
        self.open_block();
        self.keep_blanks = false;

        // Settings: severity, tags, reference, then any other, each in written order.
        let rank = |f: &Field<'_>| match &*f.name.text {
            "severity" => 0,
            "tags" => 1,
            "reference" => 2,
            _ => 3,
        };
        let mut settings: Vec<Field<'_>> = r.settings.iter().map(|s| Field::of(*s)).collect();
        settings.sort_by_key(rank);
        self.settings(&settings);
        for p in &r.params {
            self.definition(&Definition::of(*p), |this, v, col| {
                let v = Value::of(v);
                let mode = this.mode(&v, col, 0);
                this.value(&v, Start::Sep(" "), mode);
            });
        }
        if !settings.is_empty() || !r.params.is_empty() {
            self.end_line();
            self.blank();
        }

        if let Some((kw, patterns)) = &r.patterns {
            self.patterns(kw, patterns);
        }
        for l in &r.lets {
            self.definition(&Definition::of(*l), |this, e, _| this.expr(e, " "));
        }
        if let Some((kw, e)) = &r.when {
            self.when(kw, *e);
        }
        let (kw, message) = &r.flag;
        self.item(INDENT, kw);
        self.cont = CLAUSE + 2 * INDENT;
        self.tok(message, &clause_pad(kw));
        self.close(&r.close, INDENT, 0);
        self.keep_blanks = true;
    }

    /// `match` (or `from`) and one pattern per line, aligned under the first; `deal` or `entity`
    /// line up after the longest binding.
    fn patterns(&mut self, kw: &Tok<'_>, patterns: &[Syn<'_>]) {
        let patterns: Vec<Pattern<'_>> = patterns.iter().map(|p| Pattern::of(*p)).collect();
        self.item(INDENT, kw);
        let names = patterns.iter().map(|p| p.var.text.chars().count() + 1);
        let name_width = names.max().unwrap_or(0);
        for (i, p) in patterns.iter().enumerate() {
            self.cont = CLAUSE + 2 * INDENT;
            if i == 0 {
                self.tok(&p.var, &clause_pad(kw));
            } else {
                self.item(CLAUSE, &p.var);
            }
            let used = p.var.text.chars().count() + 1;
            self.pattern_rest(p, &" ".repeat(name_width.saturating_sub(used) + 1));
        }
    }

    /// `when` and one condition per line: each top-level `and` starts a line.
    fn when(&mut self, kw: &Tok<'_>, e: Syn<'_>) {
        self.item(INDENT, kw);
        self.cont = CLAUSE + 2 * INDENT;
        let and_indent = CLAUSE.saturating_sub("and ".len());
        let parts = expr_parts(e);
        for (and, parts) in conjuncts(&parts) {
            match and {
                Some(and) => {
                    self.item(and_indent, and);
                    self.parts(parts, " ");
                }
                None => self.parts(parts, &clause_pad(kw)),
            }
        }
    }

    /// `relation name(column: type, ...)`: on one line when it fits, otherwise one column per
    /// line with the types aligned.
    fn relation(&mut self, r: &Relation<'_>) {
        self.item(0, &r.keyword);
        self.cont = 2 * INDENT;
        self.tok(&r.name, " ");
        self.tok(&r.open, "");
        let flat_len: usize = r
            .columns
            .iter()
            .map(|((name, _, ty), _)| name.text.chars().count() + ty.text.chars().count() + 4)
            .sum();
        let comments = r.open.trail.is_some()
            || !r.close.lead.is_empty()
            || r.columns.iter().any(|((name, colon, ty), comma)| {
                !name.lead.is_empty()
                    || name.trail.is_some()
                    || colon.has_comments()
                    || !ty.lead.is_empty()
                    || ty.trail.is_some()
                    || comma.as_ref().is_some_and(Tok::has_comments)
            });
        if !comments && self.line.chars().count() + flat_len <= WIDTH {
            for (i, ((name, colon, ty), comma)) in r.columns.iter().enumerate() {
                self.tok(name, if i == 0 { "" } else { " " });
                self.glue(colon, ":");
                self.tok(ty, " ");
                if let Some(c) = comma {
                    self.glue(c, if i + 1 < r.columns.len() { "," } else { "" });
                }
            }
            self.tok(&r.close, "");
            return;
        }
        self.open_block();
        let width = r
            .columns
            .iter()
            .map(|((n, _, _), _)| n.text.chars().count() + 1);
        let width = width.max().unwrap_or(0);
        for (i, ((name, colon, ty), comma)) in r.columns.iter().enumerate() {
            let last = i + 1 == r.columns.len();
            self.item(INDENT, name);
            self.glue(colon, ":");
            let pad = width.saturating_sub(name.text.chars().count() + 1) + 1;
            self.tok(ty, &" ".repeat(pad));
            match comma {
                Some(c) => self.glue(c, if last { "" } else { "," }),
                None if !last => self.line.push(','),
                None => {}
            }
        }
        self.close(&r.close, INDENT, 0);
    }

    /// `derive name(expr, ...)`, then `from` and the patterns as in a rule's `match`, then `when`.
    fn derive(&mut self, d: &Derive<'_>) {
        self.item(0, &d.keyword);
        self.cont = 2 * INDENT;
        self.tok(&d.relation, " ");
        self.tok(&d.open, "");
        self.list_items(&d.head);
        self.tok(&d.close, "");
        let keep_blanks = std::mem::replace(&mut self.keep_blanks, false);
        self.patterns(&d.from.0, &d.from.1);
        if let Some((kw, e)) = &d.when {
            self.when(kw, *e);
        }
        self.keep_blanks = keep_blanks;
    }

    /// `schema deal kind "title" {`, then the field specs laid out like the fields of a deal.
    fn schema(&mut self, s: &Schema<'_>) {
        self.item(0, &s.keyword);
        self.cont = 2 * INDENT;
        self.tok(&s.target, " ");
        if let Some(t) = &s.kind {
            self.tok(t, " ");
        }
        if let Some(t) = &s.title {
            self.tok(t, " ");
        }
        if s.fields.is_empty() && !s.open.has_comments() && s.close.lead.is_empty() {
            self.glue(&s.open, " {}");
            self.glue(&s.close, "");
            return;
        }
        self.glue(&s.open, " {");
        self.open_block();
        self.specs(&s.fields, INDENT);
        self.close(&s.close, INDENT, 0);
    }

    /// `param name = value` or `let name = expr` on a line of its own.
    fn definition<'t>(
        &mut self,
        d: &Definition<'t>,
        value: impl FnOnce(&mut Self, Syn<'t>, usize),
    ) {
        self.item(INDENT, &d.keyword);
        self.cont = 3 * INDENT;
        self.tok(&d.name, " ");
        self.tok(&d.equals, " ");
        let col = INDENT + d.keyword.text.chars().count() + d.name.text.chars().count() + 4;
        value(self, d.value, col);
    }

    /// `:`, then `deal` or `entity` after `sep`, then `where ...`; the binding is written.
    fn pattern_rest(&mut self, p: &Pattern<'_>, sep: &str) {
        self.glue(&p.colon, ":");
        for (i, word) in p.kind.iter().enumerate() {
            self.tok(word, if i == 0 { sep } else { " " });
        }
        if let Some((kw, e)) = &p.filter {
            self.tok(kw, " ");
            self.expr(*e, " ");
        }
    }

    // -----------------------------------------------------------------------------------------
    // Fields and values

    /// Fields one per line at `indent`. Values line up in each run of fields that no blank line
    /// or comment line interrupts. A list or record is written on one line when it fits in
    /// [`WIDTH`] columns at the aligned column; otherwise it is written one element per line,
    /// after `name: ` without padding.
    fn fields(&mut self, fields: &[Syn<'_>], indent: usize) {
        let fields: Vec<Field<'_>> = fields.iter().map(|f| Field::of(*f)).collect();
        let group_end = |fields: &[Field<'_>], start, keep| {
            group_end_by(fields, start, keep, |f| &f.name, trailing_comments)
        };
        self.aligned(
            &fields,
            indent,
            group_end,
            |f| (&f.name, &f.colon),
            |this, f, col| {
                let mode = this.mode(&f.value, col, 0);
                (single_line(f, mode), mode)
            },
            |this, f, pad, mode| {
                this.value(&f.value, Start::Sep(pad), mode);
                if let Some(c) = &f.comma {
                    this.glue(c, "");
                }
            },
        );
    }

    /// Field specs one per line at `indent`, in groups as [`Printer::fields`] makes them: the
    /// types of a group line up, one space after the longest `name:`. A type is written on one
    /// line when it holds no comment and fits in [`WIDTH`] columns at the aligned column;
    /// otherwise its records are written one field per line, after `name: ` without padding.
    fn specs(&mut self, specs: &[Syn<'_>], indent: usize) {
        let specs: Vec<FieldSpec<'_>> = specs.iter().map(|s| FieldSpec::of(*s)).collect();
        let group_end = |specs: &[FieldSpec<'_>], start, keep| {
            group_end_by(specs, start, keep, |s| &s.name, spec_trailing)
        };
        self.aligned(
            &specs,
            indent,
            group_end,
            |s| (&s.name, &s.colon),
            |_, s, col| {
                let mode = type_mode(&TypeExpr::of(s.ty), col);
                (spec_single_line(s, mode), mode)
            },
            |this, s, pad, mode| {
                this.type_expr(&TypeExpr::of(s.ty), pad, mode);
                this.cont = indent + 2 * INDENT;
                if let Some(t) = &s.required {
                    this.tok(t, " ");
                }
                if let Some(t) = &s.doc {
                    this.tok(t, " ");
                }
                if let Some(c) = &s.comma {
                    this.glue(c, "");
                }
            },
        );
    }

    /// The layout shared by fields and field specs: `name: rest` one per line at `indent`, in
    /// the runs that `group_end` makes. `layout` says, for an item whose rest would start at a
    /// column, whether it is written on one line and in which mode; the rests of the one-line
    /// items of a run start at one column, one space after the longest of their `name:`.
    fn aligned<F>(
        &mut self,
        items: &[F],
        indent: usize,
        group_end: impl Fn(&[F], usize, bool) -> usize,
        name_colon: impl for<'f> Fn(&'f F) -> (&'f Tok<'f>, &'f Tok<'f>),
        layout: impl Fn(&Self, &F, usize) -> (bool, Mode),
        mut rest: impl FnMut(&mut Self, &F, &str, Mode),
    ) {
        let width_of = |f: &F| name_colon(f).0.text.chars().count() + 1;
        let mut start = 0;
        while start < items.len() {
            let end = group_end(items, start, self.keep_blanks);
            let group = items.get(start..end).unwrap_or(&[]);
            let width_all = group.iter().map(width_of).max().unwrap_or(0);
            let modes: Vec<(bool, Mode)> = group
                .iter()
                .map(|f| layout(self, f, indent + width_all + 1))
                .collect();
            let width = group
                .iter()
                .zip(&modes)
                .filter(|(_, (single, _))| *single)
                .map(|(f, _)| width_of(f))
                .max()
                .unwrap_or(0);
            for (f, (single, mode)) in group.iter().zip(modes) {
                let (name, colon) = name_colon(f);
                self.item(indent, name);
                self.cont = indent + 2 * INDENT;
                self.glue(colon, ":");
                let pad = if single {
                    " ".repeat(width.saturating_sub(width_of(f)) + 1)
                } else {
                    " ".to_string()
                };
                rest(self, f, &pad, mode);
            }
            start = end;
        }
        self.end_line();
    }

    /// A type after `sep`: one space around `|`, `list of T`, `enum(a, b)`. In [`Mode::Flat`],
    /// records are written `{ a: T, b: U }`; otherwise one field per line.
    fn type_expr(&mut self, t: &TypeExpr<'_>, sep: &str, mode: Mode) {
        self.type_alt(&t.first, sep, mode);
        for (bar, alt) in &t.rest {
            self.tok(bar, " ");
            self.type_alt(alt, " ", mode);
        }
    }

    fn type_alt(&mut self, t: &TypeAlt<'_>, sep: &str, mode: Mode) {
        match t {
            TypeAlt::Name(name) => self.tok(name, sep),
            TypeAlt::List { list, of, item } => {
                self.tok(list, sep);
                self.tok(of, " ");
                self.type_alt(item, " ", mode);
            }
            TypeAlt::Enum {
                keyword,
                open,
                items,
                close,
            } => {
                self.tok(keyword, sep);
                self.tok(open, "");
                for (i, (symbol, comma)) in items.iter().enumerate() {
                    let last = i + 1 == items.len();
                    self.tok(symbol, if i == 0 { "" } else { " " });
                    match comma {
                        Some(c) => self.glue(c, if last { "" } else { "," }),
                        None if !last => self.line.push(','),
                        None => {}
                    }
                }
                self.tok(close, "");
            }
            TypeAlt::Paren { open, ty, close } => {
                self.tok(open, sep);
                self.type_expr(&TypeExpr::of(*ty), "", mode);
                self.tok(close, "");
            }
            TypeAlt::Record {
                open,
                fields,
                close,
            } => {
                self.tok(open, sep);
                if mode == Mode::Flat {
                    for (i, f) in fields.iter().enumerate() {
                        let f = FieldSpec::of(*f);
                        let last = i + 1 == fields.len();
                        self.tok(&f.name, " ");
                        self.glue(&f.colon, ":");
                        self.type_expr(&TypeExpr::of(f.ty), " ", Mode::Flat);
                        if let Some(t) = &f.required {
                            self.tok(t, " ");
                        }
                        if let Some(t) = &f.doc {
                            self.tok(t, " ");
                        }
                        match &f.comma {
                            Some(c) => self.glue(c, if last { "" } else { "," }),
                            None if !last => self.line.push(','),
                            None => {}
                        }
                    }
                    self.tok(close, if fields.is_empty() { "" } else { " " });
                    return;
                }
                let cont = self.cont;
                let outer = self.line_indent();
                self.open_block();
                self.specs(fields, outer + INDENT);
                self.close(close, outer + INDENT, outer);
                self.cont = cont;
            }
        }
    }

    /// Whether `v`, starting at column `col` and followed by `suffix` characters, fits on one line.
    fn mode(&self, v: &Value<'_>, col: usize, suffix: usize) -> Mode {
        match flat(v) {
            Some(text) if col + text.chars().count() + suffix <= WIDTH => Mode::Flat,
            _ => Mode::Broken,
        }
    }

    fn value(&mut self, v: &Value<'_>, start: Start<'_>, mode: Mode) {
        let start = match &v.ceiling {
            Some(c) => {
                self.start(c, start);
                Start::Sep(" ")
            }
            None => start,
        };
        match &v.inner {
            Inner::Atom(t) => self.start(t, start),
            Inner::List { open, items, close } => {
                self.start(open, start);
                if mode == Mode::Flat {
                    for (i, (item, comma)) in items.iter().enumerate() {
                        let sep = if i == 0 { "" } else { " " };
                        self.value(&Value::of(*item), Start::Sep(sep), Mode::Flat);
                        if let Some(c) = comma {
                            self.glue(c, if i + 1 < items.len() { "," } else { "" });
                        }
                    }
                    self.tok(close, "");
                    return;
                }
                let outer = self.line_indent();
                let inner = outer + INDENT;
                self.open_block();
                for (i, (item, comma)) in items.iter().enumerate() {
                    let last = i + 1 == items.len();
                    let item = Value::of(*item);
                    let mode = self.mode(&item, inner, usize::from(!last));
                    self.cont = inner + 2 * INDENT;
                    self.value(&item, Start::Line(inner), mode);
                    if let Some(c) = comma {
                        self.glue(c, if last { "" } else { "," });
                    }
                }
                self.close(close, inner, outer);
            }
            Inner::Record {
                open,
                fields,
                close,
            } => {
                self.start(open, start);
                if mode == Mode::Flat {
                    for (i, f) in fields.iter().enumerate() {
                        let f = Field::of(*f);
                        self.tok(&f.name, if i == 0 { " " } else { "  " });
                        self.glue(&f.colon, ":");
                        self.value(&f.value, Start::Sep(" "), Mode::Flat);
                        if let Some(c) = &f.comma {
                            self.glue(c, "");
                        }
                    }
                    self.tok(close, if fields.is_empty() { "" } else { " " });
                    return;
                }
                let outer = self.line_indent();
                self.open_block();
                self.fields(fields, outer + INDENT);
                self.close(close, outer + INDENT, outer);
            }
        }
    }

    /// Indentation of the current line.
    fn line_indent(&self) -> usize {
        self.line.len() - self.line.trim_start_matches(' ').len()
    }

    // -----------------------------------------------------------------------------------------
    // Expressions: one line, one space around binary operators, none inside brackets.

    fn expr(&mut self, e: Syn<'_>, sep: &str) {
        self.parts(&expr_parts(e), sep);
    }

    fn parts(&mut self, parts: &[Part<'_>], sep: &str) {
        let mut sep = sep;
        for part in parts {
            match part {
                Part::Prefix(t) => {
                    self.tok(t, sep);
                    sep = if t.text == "-" { "" } else { " " };
                }
                Part::Infix(t) => {
                    self.tok(t, " ");
                    sep = " ";
                }
                Part::Primary(p) => {
                    self.primary(&Primary::of(*p), sep);
                    sep = " ";
                }
            }
        }
    }

    fn primary(&mut self, p: &Primary<'_>, sep: &str) {
        match p {
            Primary::Atom(t) => self.tok(t, sep),
            Primary::Paren { open, expr, close } => {
                self.tok(open, sep);
                self.expr(*expr, "");
                self.tok(close, "");
            }
            Primary::List { open, items, close } => {
                self.tok(open, sep);
                self.list_items(items);
                self.tok(close, "");
            }
            Primary::Call {
                name,
                open,
                args,
                close,
            } => {
                self.tok(name, sep);
                self.tok(open, "");
                self.list_items(args);
                self.tok(close, "");
            }
            Primary::Exists { keyword, pattern } => {
                self.tok(keyword, sep);
                self.tok(&pattern.var, " ");
                self.pattern_rest(pattern, " ");
            }
            Primary::Quantifier {
                keyword,
                var,
                in_kw,
                list,
                where_kw,
                cond,
            } => {
                self.tok(keyword, sep);
                self.tok(var, " ");
                self.tok(in_kw, " ");
                self.primary(&Primary::of(*list), " ");
                self.tok(where_kw, " ");
                self.expr(*cond, " ");
            }
            Primary::Aggregate {
                keyword,
                open,
                value,
                pattern,
                close,
            } => {
                self.tok(keyword, sep);
                self.tok(open, "");
                let sep = match value {
                    Some((e, for_kw)) => {
                        self.expr(*e, "");
                        self.tok(for_kw, " ");
                        " "
                    }
                    None => "",
                };
                self.tok(&pattern.var, sep);
                self.pattern_rest(pattern, " ");
                self.tok(close, "");
            }
        }
    }

    fn list_items(&mut self, items: &[(Syn<'_>, Option<Tok<'_>>)]) {
        for (i, (e, comma)) in items.iter().enumerate() {
            self.expr(*e, if i == 0 { "" } else { " " });
            if let Some(c) = comma {
                self.glue(c, if i + 1 < items.len() { "," } else { "" });
            }
        }
    }
}

/// Splits a `when` condition at its top-level `and`s (when it has no top-level `or`): each
/// conjunct with the `and` before it.
fn conjuncts<'p, 't>(parts: &'p [Part<'t>]) -> Vec<(Option<&'p Tok<'t>>, &'p [Part<'t>])> {
    let is_op = |p: &Part<'_>, op: &str| matches!(p, Part::Infix(t) if t.text == op);
    if parts.iter().any(|p| is_op(p, "or")) {
        return vec![(None, parts)];
    }
    let mut out = Vec::new();
    let mut and = None;
    let mut rest: &[Part<'t>] = parts;
    while let Some(i) = rest.iter().position(|p| is_op(p, "and")) {
        let (head, tail) = rest.split_at(i);
        out.push((and, head));
        if let Some((Part::Infix(t), tail)) = tail.split_first() {
            and = Some(t);
            rest = tail;
        } else {
            rest = tail;
            break;
        }
    }
    out.push((and, rest));
    out
}

/// The end of the run of fields (or field specs) from `start` whose values line up: a field with
/// comments on lines of their own before it, or a blank line before it, starts a new run.
/// `name` gives a field's name, `trailing` how many comments end up after it.
fn group_end_by<F>(
    fields: &[F],
    start: usize,
    keep_blanks: bool,
    name: impl for<'f> Fn(&'f F) -> &'f Tok<'f>,
    trailing: impl Fn(&F) -> usize,
) -> usize {
    let mut end = start + 1;
    while let Some(f) = fields.get(end) {
        let previous_trailing = fields.get(end - 1).map_or(0, &trailing);
        let name = name(f);
        if !name.lead.is_empty() || (keep_blanks && name.blank_before) || previous_trailing > 1 {
            break;
        }
        end += 1;
    }
    end
}

/// How many comments end up after a field (the first at the end of its line, the others on
/// lines of their own after it).
fn trailing_comments(f: &Field<'_>) -> usize {
    let last = last_tok(&f.value).trail.iter().count();
    let comma = f
        .comma
        .as_ref()
        .map_or(0, |c| c.lead.len() + usize::from(c.trail.is_some()));
    last + comma
}

/// Whether the field is written on one line: no comment inside it, and a value that fits.
fn single_line(f: &Field<'_>, mode: Mode) -> bool {
    let inner_comments =
        f.name.trail.is_some() || f.colon.has_comments() || !first_tok(&f.value).lead.is_empty();
    let flat = match &f.value.inner {
        Inner::Atom(_) => flat(&f.value).is_some(),
        _ => mode == Mode::Flat,
    };
    !inner_comments && flat
}

fn first_tok<'v, 't>(v: &'v Value<'t>) -> &'v Tok<'t> {
    if let Some(c) = &v.ceiling {
        return c;
    }
    match &v.inner {
        Inner::Atom(t) => t,
        Inner::List { open, .. } | Inner::Record { open, .. } => open,
    }
}

fn last_tok<'v, 't>(v: &'v Value<'t>) -> &'v Tok<'t> {
    match &v.inner {
        Inner::Atom(t) => t,
        Inner::List { close, .. } | Inner::Record { close, .. } => close,
    }
}

/// `v` on one line, or `None` when a comment inside it needs a line break. Comments before its
/// first token or after its last do not count.
fn flat(v: &Value<'_>) -> Option<String> {
    let mut out = String::new();
    if let Some(c) = &v.ceiling {
        if c.trail.is_some() {
            return None;
        }
        out.push_str(&c.text);
        out.push(' ');
        if !first_inner(&v.inner).lead.is_empty() {
            return None;
        }
    }
    match &v.inner {
        Inner::Atom(t) => out.push_str(&t.text),
        Inner::List { open, items, close } => {
            if open.trail.is_some() || !close.lead.is_empty() {
                return None;
            }
            out.push('[');
            for (i, (item, comma)) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&flat_inside(&Value::of(*item))?);
                if comma.as_ref().is_some_and(Tok::has_comments) {
                    return None;
                }
            }
            out.push(']');
        }
        Inner::Record {
            open,
            fields,
            close,
        } => {
            if open.trail.is_some() || !close.lead.is_empty() {
                return None;
            }
            if fields.is_empty() {
                out.push_str("{}");
                return Some(out);
            }
            out.push('{');
            for (i, f) in fields.iter().enumerate() {
                let f = Field::of(*f);
                out.push_str(if i == 0 { " " } else { "  " });
                if !f.name.lead.is_empty() || f.name.trail.is_some() || f.colon.has_comments() {
                    return None;
                }
                out.push_str(&f.name.text);
                out.push_str(": ");
                out.push_str(&flat_inside(&f.value)?);
                if f.comma.as_ref().is_some_and(Tok::has_comments) {
                    return None;
                }
            }
            out.push_str(" }");
        }
    }
    Some(out)
}

/// A fact on one line, from its keyword to its `}`, like a record: `deal d { kind: loan  amount:
/// 5B USD }`; `None` when a comment other than one before the keyword or after the `}` would
/// need a line break.
fn flat_fact(f: &Fact<'_>) -> Option<String> {
    let mut out = f.keyword.text.to_string();
    let mut toks = vec![&f.id];
    toks.extend(&f.title);
    if f.keyword.trail.is_some() || toks.iter().any(|t| t.has_comments()) {
        return None;
    }
    for t in toks {
        out.push(' ');
        out.push_str(&t.text);
    }
    if f.open.has_comments() || !f.close.lead.is_empty() {
        return None;
    }
    if f.fields.is_empty() {
        out.push_str(" {}");
        return Some(out);
    }
    out.push_str(" {");
    for (i, field) in f.fields.iter().enumerate() {
        let field = Field::of(*field);
        out.push_str(if i == 0 { " " } else { "  " });
        if field.name.has_comments() || field.colon.has_comments() {
            return None;
        }
        if field.comma.as_ref().is_some_and(Tok::has_comments) {
            return None;
        }
        out.push_str(&field.name.text);
        out.push_str(": ");
        out.push_str(&flat_inside(&field.value)?);
    }
    out.push_str(" }");
    Some(out)
}

/// `v` on one line when it is inside a list or record: no comment anywhere.
fn flat_inside(v: &Value<'_>) -> Option<String> {
    if !first_tok(v).lead.is_empty() || last_tok(v).trail.is_some() {
        return None;
    }
    flat(v)
}

fn first_inner<'v, 't>(i: &'v Inner<'t>) -> &'v Tok<'t> {
    match i {
        Inner::Atom(t) => t,
        Inner::List { open, .. } | Inner::Record { open, .. } => open,
    }
}

// ---------------------------------------------------------------------------------------------
// Field specs and types

/// How many comments end up after a field spec (see [`trailing_comments`]).
fn spec_trailing(s: &FieldSpec<'_>) -> usize {
    let ty = toks(s.ty);
    let last = match (&s.doc, &s.required) {
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => ty.last().unwrap_or(&s.colon),
    };
    let comma = s
        .comma
        .as_ref()
        .map_or(0, |c| c.lead.len() + usize::from(c.trail.is_some()));
    last.trail.iter().count() + comma
}

/// Whether the type of a field spec starts on the line of its name and is written on one line.
fn spec_single_line(s: &FieldSpec<'_>, mode: Mode) -> bool {
    let starts_inline = s.name.trail.is_none()
        && !s.colon.has_comments()
        && toks(s.ty).first().is_none_or(|t| t.lead.is_empty());
    starts_inline && mode == Mode::Flat
}

/// Whether the type `t`, starting at column `col`, is written on one line.
fn type_mode(t: &TypeExpr<'_>, col: usize) -> Mode {
    let toks = type_toks(t);
    let n = toks.len();
    // Comments before the first token or after the last do not count.
    let inner_comments = toks
        .iter()
        .enumerate()
        .any(|(i, tok)| (i > 0 && !tok.lead.is_empty()) || (i + 1 < n && tok.trail.is_some()));
    if !inner_comments && col + flat_type(t).chars().count() <= WIDTH {
        Mode::Flat
    } else {
        Mode::Broken
    }
}

/// Every token of a type, in written order.
fn type_toks<'t>(t: &TypeExpr<'t>) -> Vec<Tok<'t>> {
    let mut out = Vec::new();
    push_alt_toks(&t.first, &mut out);
    for (bar, alt) in &t.rest {
        out.push(bar.clone());
        push_alt_toks(alt, &mut out);
    }
    out
}

fn push_alt_toks<'t>(t: &TypeAlt<'t>, out: &mut Vec<Tok<'t>>) {
    match t {
        TypeAlt::Name(name) => out.push(name.clone()),
        TypeAlt::List { list, of, item } => {
            out.push(list.clone());
            out.push(of.clone());
            push_alt_toks(item, out);
        }
        TypeAlt::Enum {
            keyword,
            open,
            items,
            close,
        } => {
            out.push(keyword.clone());
            out.push(open.clone());
            for (symbol, comma) in items {
                out.push(symbol.clone());
                out.extend(comma.clone());
            }
            out.push(close.clone());
        }
        TypeAlt::Paren { open, ty, close } => {
            out.push(open.clone());
            out.extend(toks(*ty));
            out.push(close.clone());
        }
        TypeAlt::Record {
            open,
            fields,
            close,
        } => {
            out.push(open.clone());
            for f in fields {
                out.extend(toks(*f));
            }
            out.push(close.clone());
        }
    }
}

/// A type on one line, as [`Printer::type_expr`] writes it when it holds no comment.
fn flat_type(t: &TypeExpr<'_>) -> String {
    let mut out = flat_alt(&t.first);
    for (_, alt) in &t.rest {
        out.push_str(" | ");
        out.push_str(&flat_alt(alt));
    }
    out
}

fn flat_alt(t: &TypeAlt<'_>) -> String {
    match t {
        TypeAlt::Name(name) => name.text.to_string(),
        TypeAlt::List { item, .. } => format!("list of {}", flat_alt(item)),
        TypeAlt::Enum { items, .. } => {
            let symbols: Vec<&str> = items.iter().map(|(s, _)| &*s.text).collect();
            format!("enum({})", symbols.join(", "))
        }
        TypeAlt::Paren { ty, .. } => format!("({})", flat_type(&TypeExpr::of(*ty))),
        TypeAlt::Record { fields, .. } if fields.is_empty() => "{}".to_string(),
        TypeAlt::Record { fields, .. } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    let f = FieldSpec::of(*f);
                    let mut s = format!("{}: {}", f.name.text, flat_type(&TypeExpr::of(f.ty)));
                    for t in f.required.iter().chain(&f.doc) {
                        s.push(' ');
                        s.push_str(&t.text);
                    }
                    s
                })
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
    }
}
