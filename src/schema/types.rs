//! Static types of rule expressions (filled in below).
