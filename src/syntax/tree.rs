//! The lossless syntax tree: every token of a file as written, with the comments around it.
//!
//! Built from the pest parse, one node per grammar rule that matched (its kind is the rule), and
//! one token for each piece of text the grammar writes out (`entity`, `{`, `:`, `where`...)
//! between them. Text is read by slicing the source, so nothing is lost: white space is the gaps
//! between tokens, and each `//` comment is attached to a token, as the formatter keeps it:
//!
//! - a comment after a token on the same line is that token's `trail`;
//! - other comments are the `lead` of the next token (the comments after the last declaration
//!   are [`Tree::end`]);
//! - a token or comment knows whether a blank line comes before it.
//!
//! Literals (`100B USD`, `"text"`, `a.b`) are nodes like any rule, but no comment can be inside
//! one: their first token holds the comments before them and their last the one after them.
//!
//! Two readers: the formatter, through the typed views of [`super::view`] ([`Syn`]), and the
//! lowering to the AST, through [`Cursor`] (pest's spans, rules only). The parser builds each
//! declaration's tree as soon as pest has read it ([`Builder`]) and lowers it; [`read`] builds
//! a whole file's for the formatter.

use super::grammar::{Grammar, Rule};
use pest::Parser as _;
use pest::iterators::Pair;
use pest::unicode::XID_CONTINUE;
use std::ops::Range;

/// A node: a grammar rule that matched, with everything it matched.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The grammar rule.
    pub(super) kind: Rule,
    /// Byte range in the file, as pest gives it (`Pair::as_span`): a rule that ends with an
    /// optional part runs on over the white space and comments that pest skipped looking for
    /// it. The lowering's spans are these ([`Cursor`]); [`Syn::text`] stops at the last token.
    pub(super) span: Range<u32>,
    /// Nodes and tokens in written order.
    pub(super) children: Vec<Element>,
}

/// A child of a [`Node`].
#[derive(Clone, Debug)]
pub(crate) enum Element {
    /// A rule that matched more than one token.
    Node(Node),
    /// One token.
    Token(Token),
}

/// What a [`Token`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// A grammar rule that matched one token (`ident`, `digits`, `op_and`, `unit`...).
    Rule(Rule),
    /// Text that the grammar writes out: a keyword (`entity`, `where`) or a punctuation mark.
    Literal,
}

/// One token, with the comments attached to it.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    /// A rule or a literal.
    pub(super) kind: TokenKind,
    /// Byte range in the file.
    pub(super) span: Range<u32>,
    /// Comments on their own lines before the token.
    pub(super) lead: Vec<Comment>,
    /// A comment after the token on the same line (without trailing white space).
    pub(super) trail: Option<Range<u32>>,
    /// Whether a blank line separates the token from what comes before it (its last lead
    /// comment, or the previous token).
    pub(super) blank_before: bool,
}

/// A `//` comment: its byte range without the line break or trailing white space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Comment {
    /// Byte range in the file.
    pub(super) span: Range<u32>,
    /// Whether a blank line separates it from what comes before it.
    pub(super) blank_before: bool,
}

/// A whole file.
#[derive(Clone, Debug)]
pub(crate) struct Tree<'s> {
    /// The text of the file.
    src: &'s str,
    /// The declarations in written order, each a node.
    pub(super) items: Vec<Element>,
    /// The comments after the last declaration.
    end: Vec<Comment>,
}

impl<'s> Tree<'s> {
    /// The declarations in written order.
    pub fn items(&self) -> impl Iterator<Item = Syn<'_>> {
        self.items.iter().map(|el| Syn { src: self.src, el })
    }

    /// The comments after the last declaration.
    pub fn end(&self) -> Vec<CommentText<'_>> {
        self.end.iter().map(|c| comment_text(self.src, c)).collect()
    }

    /// Whether the file starts with a byte order mark.
    pub fn bom(&self) -> bool {
        self.src.starts_with('\u{feff}')
    }
}

fn comment_text<'t>(src: &'t str, c: &Comment) -> CommentText<'t> {
    CommentText {
        text: src
            .get(c.span.start as usize..c.span.end as usize)
            .unwrap_or(""),
        blank_before: c.blank_before,
    }
}

/// Reads a whole file into its tree, one declaration at a time as [`super::parse`] does.
/// `None` when the file has a syntax error: only files that parse have a tree.
pub(crate) fn read(src: &str) -> Option<Tree<'_>> {
    // The limits of `parse`: spans are 32-bit, and building the tree recurses.
    let file = crate::diag::FileId::new(0);
    if super::check_size(file, src).is_some() || super::check_nesting(file, src).is_some() {
        return None;
    }
    let mut b = Builder::new(src);
    let mut items = Vec::new();
    let mut offset = 0;
    while offset <= src.len() {
        let rest = src.get(offset..)?;
        let chunk = Grammar::parse(Rule::chunk, rest).ok()?.next()?;
        let item = chunk.into_inner().next()?;
        if item.as_rule() == Rule::EOI {
            break;
        }
        let end = item.as_span().end();
        items.push(b.item(item, offset));
        offset += end.max(1);
    }
    b.gap(offset.min(src.len()), src.len(), &mut Vec::new());
    Some(Tree {
        src,
        items,
        end: b.lead,
    })
}

/// Rules that can match nothing but their brackets (`[]`, `{}`): nodes even without inner rules,
/// so that the brackets are tokens of their own.
fn bracketed(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::list | Rule::record | Rule::expr_list | Rule::record_type | Rule::given_facts
    )
}

/// Compound-atomic rules: a literal read without white space or comments inside.
pub(crate) fn atomic(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::string
            | Rule::path
            | Rule::number
            | Rule::prefix_money
            | Rule::currency_prefix
            | Rule::suffixed_number
            | Rule::spaced_scale
    )
}

/// `WHITESPACE` of the grammar.
fn is_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{feff}')
}

/// Whether a blank line comes right before byte `at` (two line breaks in the white space
/// before it).
fn blank_before(src: &str, at: usize) -> bool {
    src.get(..at)
        .unwrap_or("")
        .chars()
        .rev()
        .take_while(|c| is_whitespace(*c))
        .filter(|c| *c == '\n')
        .nth(1)
        .is_some()
}

fn u32_range(r: Range<usize>) -> Range<u32> {
    // Files are at most `MAX_FILE_BYTES`, which fits.
    u32::try_from(r.start).unwrap_or(u32::MAX)..u32::try_from(r.end).unwrap_or(u32::MAX)
}

/// Builds the tree from pest pairs, keeping the comments read between them for the next token.
/// One builder reads one text: [`read`] builds a whole file with it, and the parser
/// ([`super::parse_each`]) each declaration it lowers, as soon as pest has read it.
pub(super) struct Builder<'s> {
    src: &'s str,
    /// Comments read since the last token, waiting for the next one.
    lead: Vec<Comment>,
    /// Where the last comment taken as a token's `trail` starts.
    trail_at: Option<usize>,
    /// Depth inside literals: no comment is looked for there.
    in_atom: usize,
}

impl<'s> Builder<'s> {
    /// A builder for `src`.
    pub(super) fn new(src: &'s str) -> Self {
        Builder {
            src,
            lead: Vec::new(),
            trail_at: None,
            in_atom: 0,
        }
    }

    /// The node of a declaration that pest read from `src[offset..]`, the comments between
    /// `offset` and it taken as the lead of its first token.
    pub(super) fn item(&mut self, pair: Pair<'_, Rule>, offset: usize) -> Element {
        self.gap(offset, offset + pair.as_span().start(), &mut Vec::new());
        self.element(pair, offset)
    }

    /// The node (or token) of a rule that pest read from `src[base..]`.
    pub(super) fn element(&mut self, pair: Pair<'_, Rule>, base: usize) -> Element {
        let rule = pair.as_rule();
        let span = pair.as_span();
        let (start, end) = (base + span.start(), base + span.end());
        let mut inner = pair.into_inner().peekable();
        if inner.peek().is_none() && !bracketed(rule) {
            return Element::Token(self.token(TokenKind::Rule(rule), start, end));
        }
        let atom = atomic(rule);
        self.in_atom += usize::from(atom);
        let mut children = Vec::new();
        let mut pos = start;
        for child in inner {
            let child_start = base + child.as_span().start();
            let child_end = base + child.as_span().end();
            self.gap(pos, child_start, &mut children);
            children.push(self.element(child, base));
            pos = child_end;
        }
        self.gap(pos, end, &mut children);
        self.in_atom -= usize::from(atom);
        if atom && self.in_atom == 0 {
            let trail = self.trail(end);
            if let Some(last) = children.last_mut().and_then(last_token_mut) {
                last.trail = trail;
            }
        }
        Element::Node(Node {
            kind: rule,
            span: u32_range(start..end),
            children,
        })
    }

    /// The text between two rules: white space, comments, and the tokens the grammar writes out.
    fn gap(&mut self, from: usize, to: usize, out: &mut Vec<Element>) {
        let mut i = from;
        while i < to {
            let rest = self.src.get(i..to).unwrap_or("");
            let Some(c) = rest.chars().next() else {
                break;
            };
            if is_whitespace(c) {
                i += c.len_utf8();
            } else if rest.starts_with("//") && self.in_atom == 0 {
                let end = i + rest.find('\n').unwrap_or(rest.len());
                if self.trail_at != Some(i) {
                    let text = self.src.get(i..end).unwrap_or("").trim_end();
                    self.lead.push(Comment {
                        span: u32_range(i..i + text.len()),
                        blank_before: blank_before(self.src, i),
                    });
                }
                i = end;
            } else {
                let n = if XID_CONTINUE(c) || c == '_' {
                    rest.find(|c: char| !(XID_CONTINUE(c) || c == '_'))
                        .unwrap_or(rest.len())
                } else {
                    c.len_utf8()
                };
                out.push(Element::Token(self.token(TokenKind::Literal, i, i + n)));
                i += n;
            }
        }
    }

    fn token(&mut self, kind: TokenKind, start: usize, end: usize) -> Token {
        let inside = self.in_atom > 0;
        Token {
            kind,
            span: u32_range(start..end),
            lead: std::mem::take(&mut self.lead),
            trail: if inside { None } else { self.trail(end) },
            blank_before: blank_before(self.src, start),
        }
    }

    /// The comment on the same line after byte `end`, if any.
    fn trail(&mut self, end: usize) -> Option<Range<u32>> {
        let rest = self.src.get(end..).unwrap_or("");
        let after = rest.trim_start_matches([' ', '\t', '\r', '\u{feff}']);
        if !after.starts_with("//") {
            return None;
        }
        let start = end + (rest.len() - after.len());
        let line = after
            .find('\n')
            .map_or(after, |n| after.get(..n).unwrap_or(""));
        self.trail_at = Some(start);
        Some(u32_range(start..start + line.trim_end().len()))
    }
}

fn last_token_mut(e: &mut Element) -> Option<&mut Token> {
    match e {
        Element::Token(t) => Some(t),
        Element::Node(n) => n.children.last_mut().and_then(last_token_mut),
    }
}

fn first_token(e: &Element) -> Option<&Token> {
    match e {
        Element::Token(t) => Some(t),
        Element::Node(n) => n.children.first().and_then(first_token),
    }
}

fn last_token(e: &Element) -> Option<&Token> {
    match e {
        Element::Token(t) => Some(t),
        Element::Node(n) => n.children.last().and_then(last_token),
    }
}

impl Element {
    /// The byte range: pest's span of the rule, or the literal token's text.
    fn span(&self) -> &Range<u32> {
        match self {
            Element::Node(n) => &n.span,
            Element::Token(t) => &t.span,
        }
    }

    /// The grammar rule, or `None` for a literal token.
    fn rule(&self) -> Option<Rule> {
        match self {
            Element::Node(n) => Some(n.kind),
            Element::Token(t) => match t.kind {
                TokenKind::Rule(r) => Some(r),
                TokenKind::Literal => None,
            },
        }
    }
}

/// A grammar rule that matched, as the AST lowering ([`super::Lower`]) reads it: the part of
/// pest's `Pair` API that the lowering uses (`as_rule`, `as_str`, the span, `into_inner`), read
/// from the tree, so that the lowering's logic is the one it had over pest's pairs.
///
/// Its span and text are pest's, byte for byte (see [`Node::span`]): a `field_spec` ending
/// with `"doc" // note` counts the comment, as pest did, so the AST's spans are unchanged.
/// Literal tokens (keywords, punctuation) are not rules and are skipped, as pest skips them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Cursor<'t> {
    src: &'t str,
    el: &'t Element,
    rule: Rule,
}

impl<'t> Cursor<'t> {
    /// The rule `el` matched, read from `src`; `None` for a literal token.
    pub(super) fn new(src: &'t str, el: &'t Element) -> Option<Self> {
        Some(Cursor {
            src,
            el,
            rule: el.rule()?,
        })
    }

    /// The grammar rule (`Pair::as_rule`).
    pub(super) fn as_rule(self) -> Rule {
        self.rule
    }

    /// Where the rule starts in the text the tree was built from.
    pub(super) fn start(self) -> usize {
        self.el.span().start as usize
    }

    /// Where the rule ends (pest's end: see [`Node::span`]).
    pub(super) fn end(self) -> usize {
        self.el.span().end as usize
    }

    /// The text the rule matched (`Pair::as_str`).
    pub(super) fn as_str(self) -> &'t str {
        self.src.get(self.start()..self.end()).unwrap_or("")
    }

    /// The rules inside, in written order (`Pair::into_inner`).
    pub(super) fn into_inner(self) -> impl Iterator<Item = Cursor<'t>> + Clone {
        let children: &'t [Element] = match self.el {
            Element::Node(n) => &n.children,
            Element::Token(_) => &[],
        };
        let src = self.src;
        children.iter().filter_map(move |el| Cursor::new(src, el))
    }
}

/// A place in a [`Tree`]: a node or a token, with the text it was read from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Syn<'t> {
    src: &'t str,
    el: &'t Element,
}

impl<'t> Syn<'t> {
    /// The grammar rule, or `None` for a literal token.
    pub(super) fn rule(self) -> Option<Rule> {
        self.el.rule()
    }

    /// Whether this is the rule `r`.
    pub(super) fn is(self, r: Rule) -> bool {
        self.rule() == Some(r)
    }

    /// Whether this is the literal token `text`.
    pub fn is_literal(self, text: &str) -> bool {
        self.rule().is_none() && self.text() == text
    }

    /// The text as written, from the first token to the last: without the white space and
    /// comments that pest counts in a rule that ends with an optional part.
    pub fn text(self) -> &'t str {
        let range = match self.el {
            Element::Token(t) => t.span.clone(),
            Element::Node(n) => {
                let start = first_token(self.el).map_or(n.span.start, |t| t.span.start);
                let end = last_token(self.el).map_or(start, |t| t.span.end);
                start..end.max(start)
            }
        };
        self.src
            .get(range.start as usize..range.end as usize)
            .unwrap_or("")
    }

    /// The children in written order (none for a token).
    pub fn children(self) -> impl Iterator<Item = Syn<'t>> + Clone {
        let children: &'t [Element] = match self.el {
            Element::Node(n) => &n.children,
            Element::Token(_) => &[],
        };
        let src = self.src;
        children.iter().map(move |el| Syn { src, el })
    }

    /// The children that are grammar rules, as pest's `into_inner` gives them.
    #[cfg(test)]
    fn rules(self) -> impl Iterator<Item = Syn<'t>> + Clone {
        self.children().filter(|c| c.rule().is_some())
    }

    /// The whole node as one token of the formatter: its first token's lead comments and blank
    /// line, its last token's trailing comment. Runs of spaces or tabs inside a literal (`USD
    /// 100B`, `up  to`) become one space.
    pub fn tok(self) -> Tok<'t> {
        let comment = |c: &Comment| comment_text(self.src, c);
        let first = first_token(self.el);
        let text = self.text();
        let collapse = matches!(
            self.rule(),
            Some(
                Rule::ceiling
                    | Rule::timestamp
                    | Rule::date
                    | Rule::partial_date
                    | Rule::prefix_money
                    | Rule::suffixed_number
                    | Rule::number
                    | Rule::path
            )
        );
        Tok {
            text: if collapse && text.contains(['\t', ' ']) {
                collapse_blanks(text).into()
            } else {
                text.into()
            },
            lead: first.map_or(Vec::new(), |t| t.lead.iter().map(comment).collect()),
            trail: last_token(self.el)
                .and_then(|t| t.trail.clone())
                .and_then(|r| self.src.get(r.start as usize..r.end as usize)),
            blank_before: first.is_some_and(|t| t.blank_before),
        }
    }
}

/// Runs of spaces and tabs become one space.
fn collapse_blanks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for c in s.chars() {
        if c == ' ' || c == '\t' {
            blank = true;
        } else {
            if blank {
                out.push(' ');
                blank = false;
            }
            out.push(c);
        }
    }
    out
}

/// A comment's text and whether a blank line comes before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CommentText<'t> {
    /// `// ...`, without trailing white space.
    pub text: &'t str,
    /// Whether a blank line separates it from what comes before it.
    pub blank_before: bool,
}

/// A token as the formatter writes it: a keyword, a name, a punctuation mark or a whole
/// literal, with its comments.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tok<'t> {
    /// The text as written; runs of spaces and tabs inside a literal become one space.
    pub text: std::borrow::Cow<'t, str>,
    /// Comments on their own lines before the token.
    pub lead: Vec<CommentText<'t>>,
    /// A comment after the token on the same line.
    pub trail: Option<&'t str>,
    /// Whether a blank line separates the token from what comes before it.
    pub blank_before: bool,
}

impl Tok<'_> {
    /// Whether any comment is attached to the token.
    pub fn has_comments(&self) -> bool {
        !self.lead.is_empty() || self.trail.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: Syn<'_>) -> Vec<String> {
        s.children()
            .map(|c| match c.rule() {
                Some(r) => format!("{r:?}"),
                None => c.text().to_string(),
            })
            .collect()
    }

    #[test]
    fn every_token_is_kept() {
        let src = "deal a \"A\" { x: [1, 2,] // two\n  y: up to $5B }";
        let tree = read(src).unwrap();
        let s = tree.items().next().unwrap();
        assert_eq!(
            kinds(s),
            ["deal", "ident", "title", "{", "field", "field", "}"]
        );
        let x = s.rules().nth(2).unwrap();
        assert_eq!(kinds(x), ["ident", ":", "value"]);
        let y = s.rules().nth(3).unwrap();
        assert_eq!(y.rules().nth(1).unwrap().tok().text, "up to $5B");
        assert_eq!(x.tok().trail, Some("// two"));
    }

    #[test]
    fn comments_attach_to_tokens() {
        let src = "// head\n\ndeal a { // after brace\n  k: \"//v\" // after v\n\n  // before j\n  j: 1\n}\n// tail\n";
        let tree = read(src).unwrap();
        let s = tree.items().next().unwrap();
        let toks: Vec<Tok<'_>> = s.children().map(Syn::tok).collect();
        assert_eq!(toks[0].lead.len(), 1);
        assert!(toks[0].blank_before);
        assert_eq!(toks[2].trail, Some("// after brace"));
        let k = s.rules().nth(1).unwrap();
        let v = k.rules().nth(1).unwrap();
        assert_eq!(v.tok().text, "\"//v\"");
        assert_eq!(v.tok().trail, Some("// after v"));
        let j = s.rules().nth(2).unwrap().tok();
        assert_eq!(j.lead.len(), 1);
        assert!(j.lead[0].blank_before);
        assert_eq!(tree.end().len(), 1);
    }

    #[test]
    fn comments_after_an_optional_part_stay_where_they_are() {
        // pest counts the comment in `field_doc` (it skips it to look for `:`), and `match`'s
        // patterns try `flag` as another binding: neither moves it.
        let src = "schema deal { a: text \"doc\" // d\n}\nrule a { severity: high match b: entity\n  // note\n  flag \"m\" }";
        let tree = read(src).unwrap();
        let mut items = tree.items();
        let schema = items.next().unwrap();
        let spec = schema.rules().nth(1).unwrap();
        let doc = spec.rules().nth(2).unwrap();
        assert_eq!(doc.text(), "\"doc\"");
        assert_eq!(doc.tok().trail, Some("// d"));
        let rule = items.next().unwrap();
        let flag = rule.rules().find(|r| r.is(Rule::flag_clause)).unwrap();
        assert_eq!(flag.tok().lead[0].text, "// note");
    }
}
