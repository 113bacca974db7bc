//! `dealrules lsp`: a language server on standard input and output. The answers come from the
//! library's [`dealrules::ide::Analysis`]; this file reads the workspace's files, keeps the
//! open documents' text, and speaks the protocol (UTF-16 positions, URIs, JSON-RPC).

use dealrules::ide::position::{LineIndex, Position};
use dealrules::ide::{self, Analysis};
use dealrules::{Diagnostic, Level, Span};
use indexmap::IndexMap;
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types as lsp;
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr as _;
use std::sync::Arc;

/// Folders never searched for workspace files: build output, dependencies, hidden folders.
const SKIPPED: [&str; 2] = ["target", "node_modules"];

/// Runs the server until the client sends `exit`: exit code 0 after `shutdown`, 1 otherwise
/// (as the protocol asks), 2 when the connection fails.
pub fn run() -> ExitCode {
    let (connection, writers) = stdio();
    let code = match serve(&connection) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: dealrules lsp: {e}");
            ExitCode::from(2)
        }
    };
    drop(connection);
    // Every answer is written before the process ends; the reader of standard input is not
    // waited for (it may be blocked on a client that keeps the pipe open).
    for w in writers {
        if w.join().is_err() {
            return ExitCode::from(2);
        }
    }
    code
}

/// The most bytes one message may have (an open document's text included): 64 MiB.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The most bytes of one header line.
const MAX_HEADER_LINE: u64 = 4096;

/// What one frame of standard input held.
enum Frame {
    /// A message.
    Message(Message),
    /// A frame that is no message: the JSON-RPC error code and why.
    Bad(i32, String),
    /// A frame larger than [`MAX_MESSAGE_BYTES`], whose body (of this length) is still to be
    /// skipped.
    TooLarge(usize),
    /// The end of the input.
    End,
}

/// The server's end of a connection over standard input and output, with the threads that
/// write its messages. The frames (`Content-Length` headers) are read here, not by
/// `lsp_server`'s transport, so that a frame that is not JSON, not a message, or larger than
/// [`MAX_MESSAGE_BYTES`] gets an error answer (JSON-RPC's `-32700` or `-32600`) and the session
/// goes on, instead of ending it or the process.
fn stdio() -> (Connection, Vec<std::thread::JoinHandle<()>>) {
    use std::io::Write as _;
    let (server, client) = Connection::memory();
    let (frames, to_write) = std::sync::mpsc::channel::<Vec<u8>>();
    let answers = frames.clone();
    let Connection {
        sender: incoming,
        receiver: outgoing,
    } = client;
    let forward = std::thread::spawn(move || {
        for message in outgoing {
            let mut frame = Vec::new();
            if message.write(&mut frame).is_err() || answers.send(frame).is_err() {
                break;
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let mut stdout = std::io::stdout().lock();
        for frame in to_write {
            if stdout
                .write_all(&frame)
                .and_then(|()| stdout.flush())
                .is_err()
            {
                break;
            }
        }
    });
    std::thread::spawn(move || {
        let mut input = std::io::stdin().lock();
        loop {
            match read_frame(&mut input) {
                Ok(Frame::Message(message)) => {
                    let exit = matches!(&message, Message::Notification(n) if n.method == "exit");
                    if incoming.send(message).is_err() || exit {
                        break;
                    }
                }
                Ok(Frame::Bad(code, why)) => {
                    eprintln!("error: dealrules lsp: {why}");
                    if frames.send(error_frame(code, &why)).is_err() {
                        break;
                    }
                }
                Ok(Frame::TooLarge(length)) => {
                    // Answered at once, then skipped, so that the next frame is read from its
                    // start.
                    let why =
                        format!("a message of {length} bytes; the limit is {MAX_MESSAGE_BYTES}");
                    eprintln!("error: dealrules lsp: {why}");
                    let skipped = frames.send(error_frame(-32600, &why)).is_ok()
                        && std::io::copy(
                            &mut std::io::Read::take(&mut input, length as u64),
                            &mut std::io::sink(),
                        )
                        .is_ok();
                    if !skipped {
                        break;
                    }
                }
                Ok(Frame::End) => break,
                Err(e) => {
                    eprintln!("error: dealrules lsp: cannot read a message: {e}");
                    break;
                }
            }
        }
    });
    (server, vec![forward, writer])
}

/// Reads one frame: headers up to an empty line, then a body of `Content-Length` bytes.
fn read_frame(input: &mut impl std::io::BufRead) -> std::io::Result<Frame> {
    use std::io::{BufRead as _, Read as _};
    let mut length: Option<usize> = None;
    let mut line = String::new();
    loop {
        line.clear();
        let read = input.by_ref().take(MAX_HEADER_LINE).read_line(&mut line)?;
        if read == 0 {
            return Ok(Frame::End);
        }
        if !line.ends_with('\n') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("a header line longer than {MAX_HEADER_LINE} bytes"),
            ));
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok();
        }
    }
    let Some(length) = length else {
        return Ok(Frame::Bad(
            -32700,
            "a message without a valid `Content-Length` header".into(),
        ));
    };
    if length > MAX_MESSAGE_BYTES {
        return Ok(Frame::TooLarge(length));
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    Ok(match serde_json::from_slice::<Message>(&body) {
        Ok(message) => Frame::Message(message),
        Err(e) => match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(_) => Frame::Bad(-32600, format!("not a JSON-RPC message: {e}")),
            Err(e) => Frame::Bad(-32700, format!("a message that is not JSON: {e}")),
        },
    })
}

/// A JSON-RPC error answer to a frame whose request id cannot be known (`id` null).
fn error_frame(code: i32, message: &str) -> Vec<u8> {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {"code": code, "message": message},
    })
    .to_string();
    format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes()
}

/// The capabilities announced in the answer to `initialize`.
fn capabilities() -> lsp::ServerCapabilities {
    lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::FULL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into()]),
            ..lsp::CompletionOptions::default()
        }),
        ..lsp::ServerCapabilities::default()
    }
}

/// Serves one session; `Ok(true)` when it ended with `shutdown` then `exit`.
fn serve(connection: &Connection) -> Result<bool, String> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| e.to_string())?;
    let params = connection.initialize(caps).map_err(|e| e.to_string())?;
    let params: lsp::InitializeParams = serde_json::from_value(params).unwrap_or_default();
    let mut server = Server::new(root_of(&params));
    // Whether documents changed since diagnostics were last published. A run of changes already
    // queued (fast typing) is published once, after the last; a request is answered after the
    // diagnostics of the changes before it.
    let mut changed = false;
    for message in &connection.receiver {
        match message {
            Message::Request(req) => {
                if changed {
                    publish(connection, &mut server)?;
                    changed = false;
                }
                if connection
                    .handle_shutdown(&req)
                    .map_err(|e| e.to_string())?
                {
                    return Ok(true);
                }
                let response = server.request(req);
                send(connection, response.into())?;
            }
            Message::Notification(n) => {
                if n.method == lsp::notification::Exit::METHOD {
                    return Ok(false);
                }
                changed |= server.notification(n);
                if changed && connection.receiver.is_empty() {
                    publish(connection, &mut server)?;
                    changed = false;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(false)
}

fn publish(connection: &Connection, server: &mut Server) -> Result<(), String> {
    for published in server.diagnostics() {
        let n = Notification::new(
            lsp::notification::PublishDiagnostics::METHOD.into(),
            published,
        );
        send(connection, n.into())?;
    }
    Ok(())
}

fn send(connection: &Connection, message: Message) -> Result<(), String> {
    connection.sender.send(message).map_err(|e| e.to_string())
}

/// The workspace folder: the first of `workspaceFolders`, else `rootUri`.
fn root_of(params: &lsp::InitializeParams) -> Option<PathBuf> {
    let uri = params
        .workspace_folders
        .as_ref()
        .and_then(|f| f.first())
        .map(|f| &f.uri);
    #[expect(
        deprecated,
        reason = "clients that send no workspace folders send a root URI"
    )]
    let uri = uri.or(params.root_uri.as_ref())?;
    file_path(uri)
}

/// The path of a `file:` URI.
fn file_path(uri: &lsp::Uri) -> Option<PathBuf> {
    url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()
}

/// The `.deals` and `.rules` files that a document is checked with: those of `rules/` and
/// `examples/` under the root when either exists (what `dealrules check` reads by default),
/// else every such file under the root; build output, `node_modules` and hidden folders are
/// skipped.
fn workspace_files(root: &Path) -> Vec<PathBuf> {
    let defaults: Vec<PathBuf> = ["rules", "examples"]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.is_dir())
        .collect();
    let folders = if defaults.is_empty() {
        vec![root.to_path_buf()]
    } else {
        defaults
    };
    let mut files = Vec::new();
    for folder in folders {
        let walker = walkdir::WalkDir::new(folder)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                let name = e.file_name().to_string_lossy();
                e.depth() == 0
                    || !(e.file_type().is_dir()
                        && (name.starts_with('.') || SKIPPED.contains(&&*name)))
            });
        files.extend(
            walker
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file() && dealrules::files::has_extension(e.path()))
                .map(walkdir::DirEntry::into_path),
        );
    }
    files
}

/// One document's URI and text (documents are kept by name: the path relative to the root).
#[derive(Clone, Debug)]
struct Doc {
    uri: lsp::Uri,
    text: Arc<str>,
}

/// The server's state: the workspace's files as on disk, the open documents' text, and the
/// analysis of both (made again after each change).
struct Server {
    root: Option<PathBuf>,
    /// Workspace files by name, with their text on disk.
    disk: IndexMap<String, Doc>,
    /// Open documents by name, with the editor's text.
    open: IndexMap<String, Doc>,
    /// Documents closed since diagnostics were last published (their diagnostics are cleared).
    closed: Vec<lsp::Uri>,
    analysis: Option<Analysis>,
}

impl Server {
    fn new(root: Option<PathBuf>) -> Self {
        let mut disk = IndexMap::new();
        if let Some(root) = &root {
            for path in workspace_files(root) {
                let uri = url::Url::from_file_path(&path)
                    .ok()
                    .and_then(|u| lsp::Uri::from_str(u.as_str()).ok());
                // A file that cannot be read or is not UTF-8 is left out.
                if let (Some(uri), Some(text)) = (uri, read_text(&path)) {
                    disk.insert(name_of(Some(root), &path), Doc { uri, text });
                }
            }
        }
        Server {
            root,
            disk,
            open: IndexMap::new(),
            closed: Vec::new(),
            analysis: None,
        }
    }

    /// The name of the document at `uri`: its path relative to the root, its path, or (for a
    /// URI that is not a file) the URI.
    fn name(&self, uri: &lsp::Uri) -> String {
        match file_path(uri) {
            Some(path) => name_of(self.root.as_deref(), &path),
            None => uri.as_str().to_string(),
        }
    }

    /// The analysis of the workspace files, each open document's text replacing its file's.
    fn analysis(&mut self) -> &Analysis {
        let (disk, open) = (&self.disk, &self.open);
        self.analysis.get_or_insert_with(|| {
            let from_disk = disk.iter().map(|(name, doc)| {
                let text = open.get(name).map_or(&doc.text, |o| &o.text);
                (name.clone(), text.clone())
            });
            let only_open = open
                .iter()
                .filter(|(name, _)| !disk.contains_key(*name))
                .map(|(name, doc)| (name.clone(), doc.text.clone()));
            Analysis::new(from_disk.chain(only_open).collect::<Vec<_>>())
        })
    }

    /// The URI of a loaded document.
    fn uri_of(&self, name: &str) -> Option<&lsp::Uri> {
        self.open
            .get(name)
            .or_else(|| self.disk.get(name))
            .map(|d| &d.uri)
    }

    /// Handles a notification; returns whether a document changed.
    fn notification(&mut self, n: Notification) -> bool {
        use lsp::notification::{DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument};
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Ok(p) =
                    n.extract::<lsp::DidOpenTextDocumentParams>(DidOpenTextDocument::METHOD)
                else {
                    return false;
                };
                let name = self.name(&p.text_document.uri);
                self.open.insert(
                    name,
                    Doc {
                        uri: p.text_document.uri,
                        text: p.text_document.text.into(),
                    },
                );
            }
            DidChangeTextDocument::METHOD => {
                let Ok(p) =
                    n.extract::<lsp::DidChangeTextDocumentParams>(DidChangeTextDocument::METHOD)
                else {
                    return false;
                };
                let name = self.name(&p.text_document.uri);
                // Full synchronisation: the last change holds the whole text.
                let (Some(doc), Some(change)) = (
                    self.open.get_mut(&name),
                    p.content_changes.into_iter().last(),
                ) else {
                    return false;
                };
                doc.text = change.text.into();
            }
            DidCloseTextDocument::METHOD => {
                let Ok(p) =
                    n.extract::<lsp::DidCloseTextDocumentParams>(DidCloseTextDocument::METHOD)
                else {
                    return false;
                };
                let name = self.name(&p.text_document.uri);
                self.open.shift_remove(&name);
                // The file may have been saved since the server read it.
                if let Some(doc) = self.disk.get_mut(&name)
                    && let Some(text) = file_path(&doc.uri).and_then(|p| read_text(&p))
                {
                    doc.text = text;
                }
                self.closed.push(p.text_document.uri);
            }
            _ => return false,
        }
        self.analysis = None;
        true
    }

    /// The diagnostics of every open document, and none for those closed since last time.
    fn diagnostics(&mut self) -> Vec<lsp::PublishDiagnosticsParams> {
        let mut out: Vec<lsp::PublishDiagnosticsParams> = std::mem::take(&mut self.closed)
            .into_iter()
            .map(|uri| lsp::PublishDiagnosticsParams {
                uri,
                diagnostics: Vec::new(),
                version: None,
            })
            .collect();
        self.analysis();
        let Some(analysis) = self.analysis.as_ref() else {
            return out;
        };
        for name in self.open.keys() {
            let diagnostics = analysis
                .diagnostics(name)
                .into_iter()
                .map(|d| self.diagnostic(d))
                .collect();
            if let Some(uri) = self.uri_of(name) {
                out.push(lsp::PublishDiagnosticsParams {
                    uri: uri.clone(),
                    diagnostics,
                    version: None,
                });
            }
        }
        out
    }

    /// A diagnostic of the library as the protocol has it.
    fn diagnostic(&self, d: &Diagnostic) -> lsp::Diagnostic {
        let range = d.span().and_then(|s| self.range(s)).unwrap_or_default();
        let related: Vec<lsp::DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .skip(1)
            .filter_map(|(span, label)| {
                Some(lsp::DiagnosticRelatedInformation {
                    location: self.location(*span)?,
                    message: label.clone(),
                })
            })
            .collect();
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(help);
        }
        lsp::Diagnostic {
            range,
            severity: Some(match d.level {
                Level::Error => lsp::DiagnosticSeverity::ERROR,
                Level::Warning => lsp::DiagnosticSeverity::WARNING,
            }),
            code: Some(lsp::NumberOrString::String(d.code.as_str().into())),
            source: Some("dealrules".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..lsp::Diagnostic::default()
        }
    }

    /// The range of a span, in UTF-16 positions of its file.
    fn range(&self, span: Span) -> Option<lsp::Range> {
        let analysis = self.analysis.as_ref()?;
        let file = analysis.sources().file(span.file?)?;
        let text = file.text();
        let index = LineIndex::new(&text);
        let at = |offset| {
            let p: Position = index.position(offset);
            lsp::Position::new(p.line, p.character)
        };
        Some(lsp::Range::new(
            at(span.start as usize),
            at(span.end as usize),
        ))
    }

    fn location(&self, span: Span) -> Option<lsp::Location> {
        let analysis = self.analysis.as_ref()?;
        let name = &analysis.sources().file(span.file?)?.name;
        Some(lsp::Location::new(
            self.uri_of(name)?.clone(),
            self.range(span)?,
        ))
    }

    /// Answers a request; a request about an unknown document answers `null`.
    fn request(&mut self, req: Request) -> Response {
        use lsp::request::{
            Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
        };
        let id = req.id.clone();
        let result = match req.method.as_str() {
            HoverRequest::METHOD => params::<lsp::HoverParams>(req)
                .map(|p| to_json(self.hover(&p.text_document_position_params))),
            GotoDefinition::METHOD => params::<lsp::GotoDefinitionParams>(req)
                .map(|p| to_json(self.definition(&p.text_document_position_params))),
            DocumentSymbolRequest::METHOD => params::<lsp::DocumentSymbolParams>(req)
                .map(|p| to_json(self.symbols(&p.text_document.uri))),
            Completion::METHOD => params::<lsp::CompletionParams>(req)
                .map(|p| to_json(self.completion(&p.text_document_position))),
            Formatting::METHOD => params::<lsp::DocumentFormattingParams>(req)
                .map(|p| to_json(self.format(&p.text_document.uri))),
            other => Err((
                ErrorCode::MethodNotFound,
                format!("`dealrules lsp` does not answer `{other}`"),
            )),
        };
        match result {
            Ok(value) => Response::new_ok(id, value),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        }
    }

    /// The analysis, a loaded document's name and the byte offset of a position in it.
    fn locate(&mut self, at: &lsp::TextDocumentPositionParams) -> Option<(String, usize)> {
        let name = self.name(&at.text_document.uri);
        let text = self.analysis().text(&name)?;
        let offset = LineIndex::new(text).offset(Position {
            line: at.position.line,
            character: at.position.character,
        });
        Some((name, offset))
    }

    fn hover(&mut self, at: &lsp::TextDocumentPositionParams) -> Option<lsp::Hover> {
        let (name, offset) = self.locate(at)?;
        let hover = self.analysis().hover(&name, offset)?;
        Some(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: hover.markdown,
            }),
            range: self.range(hover.span),
        })
    }

    fn definition(
        &mut self,
        at: &lsp::TextDocumentPositionParams,
    ) -> Option<lsp::GotoDefinitionResponse> {
        let (name, offset) = self.locate(at)?;
        let span = self.analysis().definition(&name, offset)?;
        self.location(span).map(lsp::GotoDefinitionResponse::Scalar)
    }

    fn symbols(&mut self, uri: &lsp::Uri) -> Option<lsp::DocumentSymbolResponse> {
        let name = self.name(uri);
        let symbols = self.analysis().symbols(&name);
        let out = symbols
            .into_iter()
            .filter_map(|s| {
                #[expect(deprecated, reason = "the protocol's field must be given")]
                Some(lsp::DocumentSymbol {
                    name: s.name,
                    detail: s.detail,
                    kind: match s.kind {
                        ide::SymbolKind::Rule => lsp::SymbolKind::FUNCTION,
                        ide::SymbolKind::Deal => lsp::SymbolKind::OBJECT,
                        ide::SymbolKind::Entity => lsp::SymbolKind::CLASS,
                        ide::SymbolKind::Relation => lsp::SymbolKind::INTERFACE,
                        ide::SymbolKind::Schema => lsp::SymbolKind::STRUCT,
                        ide::SymbolKind::Test => lsp::SymbolKind::METHOD,
                        ide::SymbolKind::Fx => lsp::SymbolKind::CONSTANT,
                        ide::SymbolKind::Defaults => lsp::SymbolKind::NAMESPACE,
                    },
                    tags: None,
                    deprecated: None,
                    range: self.range(s.span)?,
                    selection_range: self.range(s.name_span)?,
                    children: None,
                })
            })
            .collect();
        Some(lsp::DocumentSymbolResponse::Nested(out))
    }

    fn completion(
        &mut self,
        at: &lsp::TextDocumentPositionParams,
    ) -> Option<lsp::CompletionResponse> {
        let (name, offset) = self.locate(at)?;
        let items = self
            .analysis()
            .completions(&name, offset)
            .into_iter()
            .map(|c| lsp::CompletionItem {
                label: c.label,
                kind: Some(match c.kind {
                    ide::CompletionKind::Field => lsp::CompletionItemKind::FIELD,
                    ide::CompletionKind::Kind => lsp::CompletionItemKind::ENUM_MEMBER,
                }),
                detail: c.detail,
                documentation: c.documentation.map(lsp::Documentation::String),
                ..lsp::CompletionItem::default()
            })
            .collect();
        Some(lsp::CompletionResponse::Array(items))
    }

    /// The whole document replaced by its canonical layout (`dealrules fmt`); no edit when it
    /// is already formatted or has an error (the diagnostics say which).
    fn format(&mut self, uri: &lsp::Uri) -> Option<Vec<lsp::TextEdit>> {
        let name = self.name(uri);
        let text = self.analysis().text(&name)?;
        let formatted = dealrules::format::format(text).ok()?;
        if formatted == text {
            return Some(Vec::new());
        }
        let end = LineIndex::new(text).position(text.len());
        Some(vec![lsp::TextEdit {
            range: lsp::Range::new(
                lsp::Position::new(0, 0),
                lsp::Position::new(end.line, end.character),
            ),
            new_text: formatted,
        }])
    }
}

/// The parameters of a request, or the protocol's error (code and message) for parameters
/// that do not fit.
fn params<P: serde::de::DeserializeOwned>(req: Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(req.params)
        .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))
}

fn to_json(value: impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

/// A file's text, when it can be read and is UTF-8.
fn read_text(path: &Path) -> Option<Arc<str>> {
    super::inputs::read_text(path).ok().map(Arc::from)
}

/// The name of a file in locations: relative to the root when under it (`rules/schema.rules`).
fn name_of(root: Option<&Path>, path: &Path) -> String {
    root.and_then(|r| path.strip_prefix(r).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}
