//! `dealrules lsp` through its protocol: the real binary as a child process, JSON-RPC messages on
//! its standard input and output.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests fail loudly"
)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// A client talking to one `dealrules lsp` process.
struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for responses.
    notifications: Vec<Value>,
}

impl Client {
    fn start(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dealrules"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (send, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = None;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; length.expect("a Content-Length header")];
                stdout.read_exact(&mut body).unwrap();
                if send.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
            notifications: Vec::new(),
        }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    /// Writes bytes as they are, frames or not.
    fn send_raw(&mut self, bytes: &[u8]) {
        self.stdin.write_all(bytes).unwrap();
        self.stdin.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        self.messages
            .recv_timeout(Duration::from_secs(20))
            .expect("the server answers")
    }

    /// Sends a request and returns its response (`result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let m = self.receive();
            if m["id"] == json!(id) {
                return m;
            }
            self.notifications.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The diagnostics last published for `uri` before now. The server handles messages in
    /// order, so every notification sent before the answer to a request made now has arrived
    /// with it.
    fn diagnostics(&mut self, uri: &str) -> Value {
        self.request(
            "textDocument/documentSymbol",
            json!({"textDocument": {"uri": uri}}),
        );
        let last = self
            .notifications
            .iter()
            .rev()
            .find(|n| {
                n["method"] == json!("textDocument/publishDiagnostics")
                    && n["params"]["uri"] == json!(uri)
            })
            .map(|n| n["params"]["diagnostics"].clone())
            .expect("diagnostics were published");
        self.notifications
            .retain(|n| n["params"]["uri"] != json!(uri));
        last
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": "dealrules", "version": 1, "text": text}}),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// `shutdown`, then `exit`; the exit code.
    fn finish(mut self) -> Option<i32> {
        let r = self.request("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null);
        self.notify("exit", Value::Null);
        drop(self.stdin);
        self.child.wait().unwrap().code()
    }
}

const RULES: &str = "rule big_investment \"Large investment\" {
  severity: high
  reference: \"ASC 606-10-32-25\"
  match inv: deal where inv.kind == investment
  when  inv.amount > 10B USD
  flag  \"{inv.investor} invests {inv.amount}\"
}
";

const DEALS: &str = "entity 甲骨文 \"Oracle\" { type: company }
entity Société \"Société Générale\" { type: company }
";

/// A workspace with the shipped schema, one rule and two entities.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rules")).unwrap();
    std::fs::create_dir_all(dir.path().join("examples")).unwrap();
    let schema =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/schema.rules"))
            .unwrap();
    std::fs::write(dir.path().join("rules/schema.rules"), schema).unwrap();
    std::fs::write(dir.path().join("rules/big.rules"), RULES).unwrap();
    std::fs::write(dir.path().join("examples/entities.deals"), DEALS).unwrap();
    dir
}

fn uri(path: &Path) -> String {
    url::Url::from_file_path(path).unwrap().to_string()
}

fn initialize(client: &mut Client, root: &Path) {
    let r = client.request(
        "initialize",
        json!({"processId": null, "rootUri": uri(root), "capabilities": {}}),
    );
    let caps = &r["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], json!(true));
    assert_eq!(caps["definitionProvider"], json!(true));
    assert_eq!(caps["documentFormattingProvider"], json!(true));
    client.notify("initialized", json!({}));
}

/// A server started and initialised in a new [`workspace`]: the folder (kept until the end of
/// the test), its canonical path, the client.
fn session() -> (tempfile::TempDir, std::path::PathBuf, Client) {
    let dir = workspace();
    let root = dir.path().canonicalize().unwrap();
    let mut client = Client::start(&root);
    initialize(&mut client, &root);
    (dir, root, client)
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}})
}

#[test]
fn diagnostics_hover_and_definition_through_the_protocol() {
    let (_dir, root, mut client) = session();

    // A deal file with an unknown currency after a title with an emoji (two UTF-16 units), and
    // a syntax error on its last line.
    let broken = uri(&root.join("examples/new.deals"));
    let text = "deal loan \"🚀 甲骨文 loan\" { kind: loan  lender: Société  borrower: 甲骨文  amount: 5B USX }\ndeal broken { kind: loan  amount: }\n";
    client.open(&broken, text);
    let diags = client.diagnostics(&broken);
    // `USX` starts at UTF-16 column 81 (character 80: the emoji is two units).
    assert_eq!(
        diags,
        json!([
            {
                "range": range(0, 81, 0, 84),
                "severity": 1,
                "code": "E004",
                "source": "dealrules",
                "message": "unknown unit or currency `USX`\nhelp: did you mean `USD`?"
            },
            {
                "range": range(1, 34, 1, 35),
                "severity": 1,
                "code": "E001",
                "source": "dealrules",
                "message": "expected a value after `amount:`, found `}`"
            }
        ])
    );

    // Two changes in a row (full text each): the diagnostics are those of the last text.
    for (version, text) in [
        (2, "deal loan {\n"),
        (3, "deal loan { kind: loan  amount: 5B USD }\n"),
    ] {
        client.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": broken, "version": version}, "contentChanges": [{"text": text}]}),
        );
    }
    // A schema error, with the place in the shipped schema that requires the field.
    let schema = std::fs::read_to_string(root.join("rules/schema.rules")).unwrap();
    let borrower = schema
        .lines()
        .position(|l| l.trim_start().starts_with("borrower:"))
        .unwrap() as u32;
    assert_eq!(
        client.diagnostics(&broken),
        json!([{
            "range": range(0, 5, 0, 9),
            "severity": 1,
            "code": "E023",
            "source": "dealrules",
            "message": "deal `loan` (loan) has no `borrower`, which is required\nhelp: add `borrower: ...` (an entity id: Who borrows.)",
            "relatedInformation": [{
                "location": {
                    "uri": uri(&root.join("rules/schema.rules")),
                    "range": range(borrower, 2, borrower, 10)
                },
                "message": "required here"
            }]
        }])
    );
    client.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": broken, "version": 4}, "contentChanges": [{"text": text}]}),
    );

    // Requests on the file with syntax errors still answer: hover and definition of an entity
    // from another file, its name after non-ASCII text.
    let hover = client.at("textDocument/hover", &broken, 0, 47);
    assert_eq!(
        hover["result"],
        json!({
            "contents": {
                "kind": "markdown",
                "value": "**entity `Société`** Société Générale\n\ntype: company\n\n`examples/entities.deals:2`"
            },
            "range": range(0, 46, 0, 53)
        })
    );
    let def = client.at("textDocument/definition", &broken, 0, 47);
    assert_eq!(
        def["result"],
        json!({"uri": uri(&root.join("examples/entities.deals")), "range": range(1, 7, 1, 14)})
    );
    // `甲骨文` (three UTF-16 units) in `borrower: 甲骨文`.
    let def = client.at("textDocument/definition", &broken, 0, 68);
    assert_eq!(
        def["result"],
        json!({"uri": uri(&root.join("examples/entities.deals")), "range": range(0, 7, 0, 10)})
    );

    // A field path in a rule: its type and its declaration in the shipped schema.
    let rules = uri(&root.join("rules/big.rules"));
    client.open(&rules, RULES);
    assert_eq!(client.diagnostics(&rules), json!([]));
    let schema = std::fs::read_to_string(root.join("rules/schema.rules")).unwrap();
    let investor_line = schema
        .lines()
        .position(|l| l.trim_start().starts_with("investor:"))
        .unwrap();
    let hover = client.at("textDocument/hover", &rules, 5, 15);
    assert_eq!(
        hover["result"],
        json!({
            "contents": {
                "kind": "markdown",
                "value": format!(
                    "`inv.investor`: an entity id\n\nThe entity that pays.\n\ndeclared at `rules/schema.rules:{}`",
                    investor_line + 1
                )
            },
            "range": range(5, 10, 5, 22)
        })
    );
    let def = client.at("textDocument/definition", &rules, 5, 15);
    assert_eq!(
        def["result"]["uri"],
        json!(uri(&root.join("rules/schema.rules")))
    );
    assert_eq!(
        def["result"]["range"]["start"]["line"],
        json!(investor_line)
    );
    // The binding `inv` goes to its pattern; the rule id hovers with title, severity, reference.
    let def = client.at("textDocument/definition", &rules, 4, 9);
    assert_eq!(
        def["result"],
        json!({"uri": rules, "range": range(3, 8, 3, 11)})
    );
    let hover = client.at("textDocument/hover", &rules, 0, 6);
    assert_eq!(
        hover["result"]["contents"]["value"],
        json!(
            "**rule `big_investment`** Large investment\n\nseverity: high\n\nreference: ASC 606-10-32-25\n\n`rules/big.rules:1`"
        )
    );

    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": broken}}),
    );
    let names: Vec<&Value> = symbols["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert_eq!(names, [&json!("loan")]);

    assert_eq!(client.finish(), Some(0));
}

#[test]
fn bad_requests_get_answers_never_a_crash() {
    let (_dir, root, mut client) = session();
    let doc = uri(&root.join("rules/new.rules"));
    let text = "rule r \"R\" {\n  severity: low\n  match inv: deal where inv.kind == investment\n  when inv.\n  flag \"x\"\n}\n";
    client.open(&doc, text);
    let diags = client.diagnostics(&doc);
    assert_eq!(diags[0]["code"], json!("E001"));

    // Completion of the fields of an investment after `inv.`, in a rule that does not parse.
    let completion = client.at("textDocument/completion", &doc, 3, 11);
    let items = completion["result"].as_array().unwrap();
    let labels: Vec<&str> = items.iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert_eq!(labels[..3], ["investor", "investee", "stake"]);
    assert!(labels.contains(&"amount"), "{labels:?}");
    assert_eq!(items[0]["detail"], json!("an entity id"));
    assert_eq!(items[0]["documentation"], json!("The entity that pays."));
    // Deal kinds after `inv.kind == `.
    let kinds = client.at("textDocument/completion", &doc, 2, 37);
    let kinds: Vec<&str> = kinds["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    assert!(kinds.starts_with(&["investment"]), "{kinds:?}");
    assert!(kinds.contains(&"cloud_contract"), "{kinds:?}");

    // Positions past the end of a line or of the document, and documents never opened.
    for (line, character) in [(0, 500), (500, 0), (u32::MAX, u32::MAX)] {
        let r = client.at("textDocument/hover", &doc, line, character);
        assert_eq!(r["result"], Value::Null, "{r}");
        let r = client.at("textDocument/definition", &doc, line, character);
        assert_eq!(r["result"], Value::Null, "{r}");
    }
    let r = client.at("textDocument/hover", "file:///nowhere/x.rules", 0, 0);
    assert_eq!(r["result"], Value::Null);
    let r = client.at("textDocument/hover", "untitled:Untitled-1", 0, 0);
    assert_eq!(r["result"], Value::Null);

    // A path that is not UTF-8 (byte 0xFF), and a document that is not a file.
    let odd = "file:///tmp/%FF.rules";
    client.open(
        odd,
        "rule r2 { severity: low  flag \"x\" }\nrule r2 { severity: low  flag \"y\" }\n",
    );
    let diags = client.diagnostics(odd);
    assert_eq!(diags[0]["code"], json!("E008"));
    assert_eq!(diags[0]["range"], range(1, 5, 1, 7));
    let untitled = "untitled:Untitled-1";
    client.open(untitled, "deal d { kind: investmnt }\n");
    let diags = client.diagnostics(untitled);
    assert_eq!(diags[0]["code"], json!("E020"), "{diags}");

    // Bad parameters and unknown methods are protocol errors.
    let r = client.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(r["error"]["code"], json!(-32602));
    let r = client.request("textDocument/rename", json!({}));
    assert_eq!(r["error"]["code"], json!(-32601));

    // Formatting goes through `dealrules fmt`.
    let messy = uri(&root.join("examples/messy.deals"));
    client.open(&messy, "deal x{kind:loan   amount :  5B  USD}");
    let r = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": messy}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(
        r["result"],
        json!([{"range": range(0, 0, 0, 37), "newText": "deal x {\n  kind:   loan\n  amount: 5B USD\n}\n"}])
    );

    // A document naming an entity that no file declares yet.
    let user = uri(&root.join("examples/user.deals"));
    client.open(
        &user,
        "deal user_deal { kind: investment  investor: Nvidia  investee: Société }\n",
    );
    let diags = client.diagnostics(&user);
    assert_eq!(
        diags,
        json!([{
            "range": range(0, 45, 0, 51),
            "severity": 1,
            "code": "E024",
            "source": "dealrules",
            "message": "`Nvidia` in field `investor` of `user_deal` is not a declared entity\nhelp: declare it: `entity Nvidia { ... }`"
        }])
    );
    // The workspace file that declares it, edited in the editor: its text replaces the file's.
    let entities = root.join("examples/entities.deals");
    let edited = format!("{DEALS}entity Nvidia \"Nvidia Corporation\" {{ type: company }}\n");
    client.open(&uri(&entities), &edited);
    assert_eq!(client.diagnostics(&user), json!([]));
    // Saved and closed: the saved text counts, not the one read at start.
    std::fs::write(&entities, &edited).unwrap();
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": uri(&entities)}}),
    );
    assert_eq!(client.diagnostics(&uri(&entities)), json!([]));
    assert_eq!(client.diagnostics(&user), json!([]));
    let hover = client.at("textDocument/hover", &user, 0, 48);
    assert_eq!(
        hover["result"]["contents"]["value"],
        json!(
            "**entity `Nvidia`** Nvidia Corporation\n\ntype: company\n\n`examples/entities.deals:3`"
        )
    );
    assert_eq!(client.finish(), Some(0));
}

#[test]
fn malformed_and_oversized_messages_get_error_answers_and_the_session_goes_on() {
    let dir = workspace();
    let mut client = Client::start(dir.path());
    client.send_raw(b"Content-Length: 9\r\n\r\n{not json");
    let answer = client.receive();
    assert_eq!(answer["id"], Value::Null);
    assert_eq!(answer["error"]["code"], json!(-32700));
    client.send_raw(b"Content-Length: 5\r\n\r\n[1,2]");
    assert_eq!(client.receive()["error"]["code"], json!(-32600));
    client.send_raw(b"Content-Type: text/plain\r\n\r\n");
    assert_eq!(client.receive()["error"]["code"], json!(-32700));
    // Larger than the limit of 64 MiB: skipped whole, so the next message is read from its start.
    let big = (64 << 20) + 1;
    client.send_raw(format!("Content-Length: {big}\r\n\r\n").as_bytes());
    client.send_raw(&vec![b' '; big]);
    let answer = client.receive();
    assert_eq!(answer["error"]["code"], json!(-32600));
    assert_eq!(
        answer["error"]["message"],
        json!("a message of 67108865 bytes; the limit is 67108864")
    );
    initialize(&mut client, dir.path());
    assert_eq!(client.finish(), Some(0));
}

#[test]
fn a_huge_content_length_is_refused_not_allocated() {
    let dir = workspace();
    let mut client = Client::start(dir.path());
    client.send_raw(b"Content-Length: 99999999999\r\n\r\n{}");
    assert_eq!(client.receive()["error"]["code"], json!(-32600));
    drop(client.stdin);
    // The input ended without `exit`: the connection failed, exit code 2, no abort.
    assert_eq!(client.child.wait().unwrap().code(), Some(2));
}

#[test]
fn exit_without_shutdown_is_exit_code_1() {
    let dir = workspace();
    let mut client = Client::start(dir.path());
    initialize(&mut client, dir.path());
    client.notify("exit", Value::Null);
    assert_eq!(client.child.wait().unwrap().code(), Some(1));
}
