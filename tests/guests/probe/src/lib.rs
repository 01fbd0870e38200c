//! A guest for the host's tests: its event names an action, and it does
//! exactly that, so each test can provoke one behaviour through the real host.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::{json, Value};
use wasmfn_guest::{Context, Error};

static INVOCATIONS: AtomicU64 = AtomicU64::new(0);
static INITS: AtomicU64 = AtomicU64::new(0);
/// SnapStart hooks run (before the snapshot, after each restore).
static BEFORE_SNAPSHOT: AtomicU64 = AtomicU64::new(0);
static AFTER_RESTORE: AtomicU64 = AtomicU64::new(0);
/// What `init` built when `PROBE_INIT_MAP=N` asks it to do real work: a map
/// of N entries, as a handler's init builds a lookup table.
static TABLE: std::sync::OnceLock<std::collections::BTreeMap<String, u64>> =
    std::sync::OnceLock::new();
/// The files `open` keeps open across invocations.
/// What `init` fetched when `PROBE_INIT_FETCH=URL` asks it to.
static INIT_FETCHED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static KEPT: std::sync::Mutex<Vec<std::fs::File>> = std::sync::Mutex::new(Vec::new());

#[derive(Deserialize)]
struct Event {
    action: String,
    #[serde(default)]
    n: u64,
    #[serde(default)]
    text: String,
    /// A key-value store, for the `kv_*` actions (`text` is the key).
    #[serde(default)]
    store: String,
    /// A file length, for `deep`.
    #[serde(default)]
    len: u64,
}

fn init() -> Result<(), Error> {
    INITS.fetch_add(1, Ordering::SeqCst);
    println!("probe init");
    if std::env::var("PROBE_FAIL_INIT").is_ok() {
        return Err(Error::new("ConfigError", "PROBE_FAIL_INIT is set"));
    }
    if let Some(n) = std::env::var("PROBE_INIT_MAP")
        .ok()
        .and_then(|n| n.parse::<u64>().ok())
    {
        let table = (0..n).map(|i| (format!("key-{i:08}"), i * i)).collect();
        let _ = TABLE.set(table);
    }
    if std::env::var("PROBE_INIT_TMP").is_ok() {
        // What init leaves on disk, as a model or an asset downloaded then.
        std::fs::create_dir_all("/tmp/init")
            .and_then(|()| std::fs::write("/tmp/init/seed.txt", "written at init"))
            .map_err(|e| Error::new("InitError", e.to_string()))?;
    }
    if let Ok(url) = std::env::var("PROBE_INIT_FETCH") {
        // An outbound request at init, finished before init returns.
        let body = wasmfn_guest::http_client::Client::new()
            .get(&url)
            .send()
            .and_then(|r| r.body())
            .map_err(|e| Error::new("InitError", format!("{e:?}")))?;
        let _ = INIT_FETCHED.set(String::from_utf8_lossy(&body).into_owned());
    }
    if std::env::var("PROBE_INIT_OPEN").is_ok() {
        // A file of its own left open across the snapshot.
        let file = std::fs::File::create("/tmp/kept-by-init")
            .map_err(|e| Error::new("InitError", e.to_string()))?;
        KEPT.lock().unwrap().push(file);
    }
    wasmfn_guest::snapstart::register_before_snapshot(|| {
        BEFORE_SNAPSHOT.fetch_add(1, Ordering::SeqCst);
        println!("before snapshot");
        Ok(())
    });
    wasmfn_guest::snapstart::register_after_restore(|| {
        AFTER_RESTORE.fetch_add(1, Ordering::SeqCst);
        println!("after restore");
        Ok(())
    });
    Ok(())
}

// Async, so that the tests cover the SDK's async path; `hello` and `api`
// cover the synchronous one.
#[wasmfn_guest::handler(init = init)]
async fn handler(event: Value, ctx: Context) -> Result<Value, Error> {
    if event.get("requestContext").is_some() {
        // Behind a route, the path's last segment may ask for a failure.
        let path = event
            .get("path")
            .or_else(|| event.get("rawPath"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if path.ends_with("/fail") {
            return Err(Error::new("CustomError", format!("{path} fails")));
        }
        if path.ends_with("/spin") {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        return Ok(http_echo(event, &path));
    }
    let event: Event = serde_json::from_value(event)
        .map_err(|e| Error::new("Runtime.UnmarshalError", format!("not a probe event: {e}")))?;
    let count = INVOCATIONS.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(match event.action.as_str() {
        "echo" => json!({
            "requestId": ctx.request_id,
            "functionName": ctx.function_name,
            "functionVersion": ctx.function_version,
            "invokedFunctionArn": ctx.invoked_function_arn,
            "memoryLimitInMb": ctx.memory_limit_in_mb,
            "deadlineMs": ctx.deadline_ms,
            "logGroupName": ctx.log_group_name,
            "logStreamName": ctx.log_stream_name,
            "traceId": ctx.xray_trace_id,
            "clientContext": ctx.client_context,
            "identity": ctx.identity,
            "tenantId": ctx.tenant_id,
            "remainingMs": ctx.remaining_time().as_millis() as u64,
        }),
        "counter" => {
            let mut counter =
                json!({ "invocations": count, "inits": INITS.load(Ordering::SeqCst) });
            // Only under tenant isolation, so that other tests compare as before.
            if let Some(tenant) = &ctx.tenant_id {
                counter["tenantId"] = tenant.as_str().into();
            }
            counter
        }
        "snapstart" => json!({
            "invocations": count,
            "inits": INITS.load(Ordering::SeqCst),
            "beforeSnapshot": BEFORE_SNAPSHOT.load(Ordering::SeqCst),
            "afterRestore": AFTER_RESTORE.load(Ordering::SeqCst),
            "table": TABLE.get().map(|t| t.len()),
            "initFetched": INIT_FETCHED.get(),
            "initializationType": std::env::var("AWS_LAMBDA_INITIALIZATION_TYPE").ok(),
        }),
        "random" => json!({ "random": wasip2::random::random::get_random_u64() }),
        "env" => json!({ "value": std::env::var(&event.text).ok() }),
        "env_names" => json!({ "names": std::env::vars().map(|(k, _)| k).collect::<Vec<_>>() }),
        // Files: `text` is the path; `write` writes `n` bytes.
        "write" => match std::fs::write(&event.text, vec![b'w'; event.n as usize]) {
            Ok(()) => json!({ "written": event.n }),
            Err(e) => json!({ "error": e.to_string() }),
        },
        // Appends `n` megabytes to the file at `text`, a megabyte a write.
        "fill" => {
            use std::io::Write;
            let chunk = vec![b'f'; 1 << 20];
            let mut file = match std::fs::File::create(&event.text) {
                Ok(file) => file,
                Err(e) => return Ok(json!({ "error": e.to_string() })),
            };
            let mut written = 0;
            while written < event.n {
                if let Err(e) = file.write_all(&chunk) {
                    return Ok(json!({ "error": e.to_string(), "writtenMb": written }));
                }
                written += 1;
            }
            json!({ "writtenMb": written })
        }
        // Nests `n` directories in /tmp, one in the other, through WASI
        // directly (an open descriptor per level, as no libc path would),
        // and puts a file of `len` bytes (sparse) at the bottom.
        "deep" => match nest_directories(event.n, event.len) {
            Ok(depth) => json!({ "depth": depth }),
            Err(e) => json!({ "error": e }),
        },
        // Opens the file at `text` `n` times and keeps every descriptor.
        "open" => {
            let mut kept = KEPT.lock().unwrap();
            let mut error = None;
            for _ in 0..event.n {
                match std::fs::File::open(&event.text) {
                    Ok(file) => kept.push(file),
                    Err(e) => {
                        error = Some(e.to_string());
                        break;
                    }
                }
            }
            json!({ "open": kept.len(), "error": error })
        }
        // Closes `n` of the files `open` kept.
        "close" => {
            let mut kept = KEPT.lock().unwrap();
            let left = kept.len().saturating_sub(event.n as usize);
            kept.truncate(left);
            json!({ "open": left })
        }
        "read" => match std::fs::read(&event.text) {
            Ok(bytes) => json!({ "content": String::from_utf8_lossy(&bytes) }),
            Err(e) => json!({ "error": e.to_string() }),
        },
        "ls" => match std::fs::read_dir(&event.text) {
            Ok(entries) => {
                let mut names: Vec<String> = entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                names.sort();
                json!({ "entries": names })
            }
            Err(e) => json!({ "error": e.to_string() }),
        },
        "log" => {
            for i in 0..event.n {
                println!("line {i} to stdout");
            }
            eprintln!("one line to stderr");
            json!({ "logged": event.n })
        }
        "flood" => {
            // `n` megabytes of output, far past any sane log cap.
            let line = "x".repeat(1023);
            for _ in 0..event.n * 1024 {
                println!("{line}");
            }
            json!({ "flooded": event.n })
        }
        "loop" => {
            let mut i: u64 = 0;
            loop {
                i = std::hint::black_box(i.wrapping_add(1));
            }
        }
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_millis(event.n));
            json!({ "slept": event.n })
        }
        "alloc" => {
            // `n` megabytes through the Rust allocator, touched so that it is
            // really used.
            let mut v = vec![0u8; (event.n as usize) << 20];
            for chunk in v.chunks_mut(4096) {
                chunk[0] = 1;
            }
            json!({ "allocated_mb": event.n, "sum": v.iter().map(|&b| b as u64).sum::<u64>() })
        }
        "grow" => {
            // Raw `memory.grow` in 1 MiB steps until refused: a guest that
            // handles the failure itself survives.
            let mut grown = 0;
            while grown < event.n {
                if core::arch::wasm32::memory_grow(0, 16) == usize::MAX {
                    break;
                }
                grown += 1;
            }
            json!({ "grown_mb": grown })
        }
        "import_loop" => {
            // Host imports in a tight cycle (the runtime's remaining time and
            // WASI's clock): interruption must hold at import boundaries too.
            let mut sum = 0u64;
            loop {
                sum = sum.wrapping_add(ctx.remaining_time().as_millis() as u64);
                sum = sum.wrapping_add(std::time::Instant::now().elapsed().as_nanos() as u64);
                std::hint::black_box(sum);
            }
        }
        "bomb" => {
            // `memory.grow` in 16 MiB steps without checking the result, then
            // a write to the memory it believes it got: past the cap, that
            // write lands out of bounds.
            loop {
                let old_pages = core::arch::wasm32::memory_grow(0, 256);
                let addr = old_pages.wrapping_mul(65536);
                // SAFETY: deliberately none; the host's bounds checks stop it.
                unsafe { (addr as *mut u8).write_volatile(1) }
            }
        }
        "panic" => panic!("probe was asked to panic: {}", event.text),
        "trap" => core::arch::wasm32::unreachable(),
        "exit" => std::process::exit(event.n as i32),
        "recurse" => json!({ "depth": recurse(event.n.max(1)) }),
        "error" => return Err(Error::new("CustomError", event.text)),
        "big" => json!({ "data": "y".repeat(event.n as usize) }),
        "kv_set" => {
            let store = wasmfn_guest::kv::Store::open(&event.store)?;
            // `len` bytes, or a short value naming `n`.
            let value = match event.len {
                0 => format!("value-{}", event.n).into_bytes(),
                len => vec![b'v'; len as usize],
            };
            store.set(&event.text, &value)?;
            json!({ "set": event.text })
        }
        "kv_get" => {
            let store = wasmfn_guest::kv::Store::open(&event.store)?;
            let value = store
                .get(&event.text)?
                .map(|v| String::from_utf8_lossy(&v).into_owned());
            json!({ "value": value, "keys": store.keys()? })
        }
        "kv_incr" => {
            let store = wasmfn_guest::kv::Store::open(&event.store)?;
            json!({ "value": store.increment(&event.text, event.n)? })
        }
        // `text` is host:port: open a raw TCP connection (wasi:sockets).
        "tcp" => match std::net::TcpStream::connect(&event.text) {
            Ok(_) => json!({ "connected": true }),
            Err(e) => json!({ "error": e.to_string() }),
        },
        // `text` is a URL: GET it through wasi:http.
        "fetch" => match wasmfn_guest::http_client::Client::new()
            .get(&event.text)
            .send()
            .and_then(|r| Ok((r.status_code(), r.body()?)))
        {
            Ok((status, body)) => {
                json!({ "status": status, "body": String::from_utf8_lossy(&body) })
            }
            Err(e) => json!({ "error": format!("{e:?}") }),
        },
        other => {
            return Err(Error::new(
                "UnknownAction",
                format!("unknown action `{other}`"),
            ))
        }
    })
}

/// Behind an API Gateway route: answers with the event it got, so tests can
/// see the mapping; a request body is echoed back byte for byte (binary
/// included); the path `/malformed` answers with something that is not a
/// proxy response.
fn http_echo(event: Value, path: &str) -> Value {
    if path.ends_with("/malformed") {
        return json!({ "this is": "not a proxy response" });
    }
    if event["isBase64Encoded"] == true {
        return json!({
            "statusCode": 200,
            "headers": { "content-type": "application/octet-stream" },
            "body": event["body"],
            "isBase64Encoded": true,
        });
    }
    json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "multiValueHeaders": { "x-echo": ["one", "two"] },
        "body": event.to_string(),
    })
}

#[inline(never)]
fn recurse(n: u64) -> u64 {
    let pad = std::hint::black_box([n; 64]);
    if n == 0 {
        return 0;
    }
    1 + recurse(std::hint::black_box(n + 1)) + pad[3] % 2
}

/// Creates `/tmp/d/d/d/...`, `n` deep, with a file `bottom` of `len` bytes
/// in the deepest.
fn nest_directories(n: u64, len: u64) -> Result<u64, String> {
    use wasip2::filesystem::preopens::get_directories;
    use wasip2::filesystem::types::{DescriptorFlags, OpenFlags, PathFlags};
    let (mut dir, _) = get_directories()
        .into_iter()
        .find(|(_, path)| path == "/tmp")
        .ok_or("no /tmp")?;
    for depth in 0..n {
        dir.create_directory_at("d")
            .map_err(|e| format!("mkdir at depth {depth}: {e}"))?;
        dir = dir
            .open_at(
                PathFlags::empty(),
                "d",
                OpenFlags::DIRECTORY,
                DescriptorFlags::READ | DescriptorFlags::MUTATE_DIRECTORY,
            )
            .map_err(|e| format!("open at depth {depth}: {e}"))?;
    }
    if len > 0 {
        let file = dir
            .open_at(
                PathFlags::empty(),
                "bottom",
                OpenFlags::CREATE,
                DescriptorFlags::WRITE,
            )
            .map_err(|e| format!("create the bottom file: {e}"))?;
        file.set_size(len)
            .map_err(|e| format!("size the bottom file: {e}"))?;
    }
    Ok(n)
}
