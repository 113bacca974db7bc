//! Positions as editors count them: a 0-based line and a column in UTF-16 code units (the
//! Language Server Protocol's default), converted to and from byte offsets.

/// The line starts of one text, to convert byte offsets to editor positions and back.
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

/// A 0-based line and a 0-based column in UTF-16 code units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 0-based line.
    pub line: u32,
    /// 0-based column, in UTF-16 code units (`é` is one, `𝄞` two).
    pub character: u32,
}

impl<'a> LineIndex<'a> {
    /// Indexes the lines of `text`.
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// The position of byte `offset`; an offset past the end is the end of the text, and one
    /// inside a character is the start of that character.
    pub fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character = self
            .text
            .get(start..offset)
            .map_or(0, |s| s.encode_utf16().count());
        Position {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            character: u32::try_from(character).unwrap_or(u32::MAX),
        }
    }

    /// The byte offset of `position`. A line past the last is the end of the text; a column
    /// past the end of its line is the end of the line; a column inside a character (between
    /// the two halves of a surrogate pair) is the start of that character.
    pub fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let line = self.text.get(start..).unwrap_or("");
        let line = line.split('\n').next().unwrap_or("");
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            let width = u32::try_from(c.len_utf16()).unwrap_or(2);
            if units + width > position.character {
                return start + i;
            }
            units += width;
        }
        // A column past the end of a line ending in `\r\n` stays before the `\r`.
        start + line.trim_end_matches('\r').len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: u32, character: u32) -> Position {
        Position { line, character }
    }

    #[test]
    fn utf16_columns_after_non_ascii_text() {
        let text = "entity Société { x: 1 }\nentity 甲骨文 {}\n// 𝄞 x\n";
        let index = LineIndex::new(text);
        // `{` after `Société` (7 characters, 9 bytes): column 15 in UTF-16, byte 17.
        let brace = text.find('{').unwrap_or(0);
        assert_eq!(brace, 17);
        assert_eq!(index.position(brace), pos(0, 15));
        assert_eq!(index.offset(pos(0, 15)), brace);
        let second = text.find("{}").unwrap_or(0);
        assert_eq!(index.position(second), pos(1, 11));
        assert_eq!(index.offset(pos(1, 11)), second);
        // `𝄞` is two UTF-16 units: the `x` after it is column 6.
        let x = text.rfind('x').unwrap_or(0);
        assert_eq!(index.position(x), pos(2, 6));
        assert_eq!(index.offset(pos(2, 6)), x);
        // Between the two halves of `𝄞`: the start of the character.
        assert_eq!(index.offset(pos(2, 4)), text.find('𝄞').unwrap_or(0));
    }

    #[test]
    fn positions_out_of_range_are_clamped() {
        let text = "deal a {}\r\nrule b";
        let index = LineIndex::new(text);
        assert_eq!(index.offset(pos(0, 100)), 9);
        assert_eq!(index.offset(pos(1, 100)), text.len());
        assert_eq!(index.offset(pos(7, 0)), text.len());
        assert_eq!(index.position(1000), pos(1, 6));
        assert_eq!(LineIndex::new("").offset(pos(3, 3)), 0);
        // Inside a multi-byte character: its start.
        let text = "é";
        assert_eq!(LineIndex::new(text).position(1), pos(0, 0));
    }
}
