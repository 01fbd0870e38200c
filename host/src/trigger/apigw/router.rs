//! HTTP routes from a manifest's `http` (API Gateway REST, payload v1) and
//! `httpApi` (HTTP API, payload v2) events, and matching requests to them.
//!
//! Path templates are API Gateway's: literal segments, `{param}` for one
//! segment, and a final `{param+}` for the rest of the path. A route's
//! method is an HTTP method or `ANY` (`*` in HTTP API syntax).

use std::collections::HashMap;

use serde_yaml_ng::Value;

/// Which API Gateway payload a route sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// REST API proxy integration (`http` events), payload format 1.0.
    V1,
    /// HTTP API (`httpApi` events) and Function URLs, payload format 2.0.
    V2,
}

/// One route to one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The function it invokes.
    pub function: String,
    /// Upper-case method, or `ANY`.
    pub method: String,
    /// The path template, e.g. `/items/{id}`.
    pub path: String,
    /// Whether to answer CORS preflight requests (`cors: true`).
    pub cors: bool,
    /// The event payload format.
    pub payload: Payload,
    /// Whether the response is streamed (a REST API integration's
    /// `responseTransferMode: STREAM`).
    pub streams: bool,
}

impl Route {
    /// The HTTP API route key, e.g. `GET /items/{id}`.
    pub fn route_key(&self) -> String {
        let method = if self.method == "ANY" {
            "ANY"
        } else {
            &self.method
        };
        format!("{method} {}", self.path)
    }
}

/// A matched route and the path parameters it bound.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    /// The route.
    pub route: &'a Route,
    /// `{name}` → value, URL-decoded.
    pub params: HashMap<String, String>,
}

/// What a request path and method resolve to.
#[derive(Debug)]
pub enum Resolution<'a> {
    /// A route matches.
    Found(Match<'a>),
    /// The path matches routes, none with this method; their methods.
    MethodNotAllowed(Vec<String>),
    /// No route has this path.
    NotFound,
}

/// All routes of a service.
#[derive(Debug, Clone, Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// A router over `routes`.
    pub fn new(routes: Vec<Route>) -> Self {
        Router { routes }
    }

    /// The routes.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the route for `method` and `path`. Literal segments beat
    /// parameters, which beat greedy parameters, as in API Gateway.
    pub fn resolve(&self, method: &str, path: &str) -> Resolution<'_> {
        let segments = split(path);
        let mut best: Option<(usize, Match<'_>)> = None;
        let mut allowed = Vec::new();
        for route in &self.routes {
            let Some((params, score)) = match_path(&route.path, &segments) else {
                continue;
            };
            if route.method != "ANY" && !route.method.eq_ignore_ascii_case(method) {
                allowed.push(route.method.clone());
                continue;
            }
            if best.as_ref().is_none_or(|(s, _)| score > *s) {
                best = Some((score, Match { route, params }));
            }
        }
        match best {
            Some((_, m)) => Resolution::Found(m),
            None if !allowed.is_empty() => Resolution::MethodNotAllowed(allowed),
            None => Resolution::NotFound,
        }
    }

    /// Whether any route on `path` has CORS enabled (for preflights).
    pub fn cors_on(&self, path: &str) -> Option<Vec<String>> {
        let segments = split(path);
        let methods: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.cors && match_path(&r.path, &segments).is_some())
            .map(|r| r.method.clone())
            .collect();
        (!methods.is_empty()).then_some(methods)
    }
}

fn split(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Matches a template against path segments; the score ranks specificity.
fn match_path(template: &str, segments: &[&str]) -> Option<(HashMap<String, String>, usize)> {
    let parts = split(template);
    let mut params = HashMap::new();
    let mut score = 0;
    for (i, part) in parts.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            // Greedy: the rest of the path, at least one segment.
            if i != parts.len() - 1 || segments.len() <= i {
                return None;
            }
            params.insert(name.to_string(), decode(&segments[i..].join("/")));
            return Some((params, score));
        }
        let segment = segments.get(i)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            params.insert(name.to_string(), decode(segment));
            score += 1;
        } else if part == segment {
            score += 2;
        } else {
            return None;
        }
    }
    (parts.len() == segments.len()).then_some((params, score))
}

/// Percent-decodes a path segment or query component (`+` stays `+`; a
/// `%` not followed by two hex digits stays as it is).
pub fn decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Reads the `http` / `httpApi` events of function `function` from its
/// manifest `events:` list. Returns the routes and a warning for each event
/// it does not understand.
pub fn routes_from_events(function: &str, events: &[Value]) -> (Vec<Route>, Vec<String>) {
    let mut routes = Vec::new();
    let mut warnings = Vec::new();
    for event in events {
        let Some(map) = event.as_mapping() else {
            warnings.push(format!(
                "function `{function}`: an event must be a map like `- http: ...`"
            ));
            continue;
        };
        for (kind, spec) in map {
            let kind = kind.as_str().unwrap_or("");
            let payload = match kind {
                "http" => Payload::V1,
                "httpApi" => Payload::V2,
                // Handled by the scheduler.
                "schedule" => continue,
                // Sources that AWS itself feeds (event source mappings and
                // notifications): locally their events are sent with
                // `wasmfn invoke <fn> --event` (see `wasmfn generate-event`).
                "s3" | "sqs" | "sns" | "stream" | "kinesis" | "eventBridge" | "cloudwatchEvent"
                | "cloudwatchLog" | "alb" | "alexaSkill" | "iot" | "cognitoUserPool"
                | "websocket" => continue,
                other => {
                    warnings.push(format!(
                        "function `{function}`: event type `{other}` is not supported locally and is ignored"
                    ));
                    continue;
                }
            };
            match parse_route(function, spec, payload) {
                Ok(route) => routes.push(route),
                Err(e) => warnings.push(format!("function `{function}`: {kind} event: {e}")),
            }
        }
    }
    (routes, warnings)
}

fn parse_route(function: &str, spec: &Value, payload: Payload) -> Result<Route, String> {
    let mut streams = false;
    let (method, path, cors) = match spec {
        // `GET /items`, or `*` for every route of an HTTP API.
        Value::String(s) if s.trim() == "*" => ("ANY".to_string(), "/{proxy+}".to_string(), false),
        Value::String(s) => {
            let (m, p) = s
                .trim()
                .split_once(' ')
                .ok_or_else(|| format!("`{s}` is not `METHOD /path`"))?;
            (m.to_string(), p.trim().to_string(), false)
        }
        Value::Mapping(m) => {
            let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
            let path = get("path").ok_or("missing `path`")?;
            let method = get("method").unwrap_or_else(|| "ANY".into());
            let cors = match m.get("cors") {
                Some(Value::Bool(b)) => *b,
                Some(Value::Mapping(_)) => true,
                _ => false,
            };
            streams = match get("responseTransferMode").as_deref() {
                None | Some("BUFFERED") => false,
                Some("STREAM") if payload == Payload::V1 => true,
                Some("STREAM") => {
                    return Err("responseTransferMode: STREAM is a REST API's (`http` events); HTTP APIs do not stream".into())
                }
                Some(other) => {
                    return Err(format!(
                        "responseTransferMode is `{other}`; it must be BUFFERED or STREAM"
                    ))
                }
            };
            (method, path, cors)
        }
        _ => return Err("expected `METHOD /path` or a map with `path` and `method`".into()),
    };
    let method = match method.to_ascii_uppercase().as_str() {
        "*" | "ANY" => "ANY".to_string(),
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_string(),
        other => return Err(format!("unknown method `{other}`")),
    };
    let path = format!("/{}", path.trim_start_matches('/'));
    Ok(Route {
        function: function.to_string(),
        method,
        path,
        cors,
        payload,
        streams,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, path: &str) -> Route {
        Route {
            function: format!("{method} {path}"),
            method: method.into(),
            path: path.into(),
            cors: false,
            payload: Payload::V1,
            streams: false,
        }
    }

    #[test]
    fn a_rest_route_may_stream_and_an_http_api_route_may_not() {
        let events: Vec<Value> = serde_yaml_ng::from_str(
            "- http: {path: /s, method: post, responseTransferMode: STREAM}\n- http: {path: /b, method: get}\n- httpApi: {path: /h, method: get, responseTransferMode: STREAM}\n",
        )
        .unwrap();
        let (routes, warnings) = routes_from_events("f", &events);
        assert_eq!(routes.len(), 2);
        assert!(routes[0].streams && !routes[1].streams);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("HTTP APIs do not stream"),
            "{warnings:?}"
        );
    }

    #[test]
    fn decoding_leaves_what_is_not_an_escape() {
        assert_eq!(decode("a%20b%2F%zz%2"), "a b/%zz%2");
        // A `%` before a multi-byte character must not split it (a case
        // the invoke_request fuzz target found).
        assert_eq!(decode("%1\u{333}x"), "%1\u{333}x");
        assert_eq!(decode("%E2%9C%93+"), "\u{2713}+");
    }

    #[test]
    fn literals_beat_parameters_beat_greedy() {
        let router = Router::new(vec![
            route("ANY", "/{proxy+}"),
            route("GET", "/items/{id}"),
            route("GET", "/items/special"),
            route("POST", "/items"),
        ]);
        let found = |m, p| match router.resolve(m, p) {
            Resolution::Found(m) => (m.route.function.clone(), m.params),
            other => panic!("{other:?}"),
        };
        assert_eq!(found("GET", "/items/special").0, "GET /items/special");
        let (f, params) = found("GET", "/items/a%20b");
        assert_eq!(
            (f.as_str(), params["id"].as_str()),
            ("GET /items/{id}", "a b")
        );
        let (f, params) = found("DELETE", "/x/y/z");
        assert_eq!(
            (f.as_str(), params["proxy"].as_str()),
            ("ANY /{proxy+}", "x/y/z")
        );
    }

    #[test]
    fn a_known_path_with_another_method_is_405() {
        let router = Router::new(vec![route("POST", "/items")]);
        assert!(
            matches!(router.resolve("GET", "/items"), Resolution::MethodNotAllowed(m) if m == ["POST"])
        );
        assert!(matches!(
            router.resolve("GET", "/nope"),
            Resolution::NotFound
        ));
    }

    #[test]
    fn events_parse_in_both_syntaxes() {
        let events: Vec<Value> = serde_yaml_ng::from_str(
            "- http: {path: 'items/{id}', method: get, cors: true}\n- httpApi: 'POST /things'\n- sqs: arn\n- carrierPigeon: x\n",
        )
        .unwrap();
        let (routes, warnings) = routes_from_events("f", &events);
        assert_eq!(routes[0].path, "/items/{id}");
        assert_eq!((routes[0].method.as_str(), routes[0].cors), ("GET", true));
        assert_eq!(
            (routes[1].payload, routes[1].route_key().as_str()),
            (Payload::V2, "POST /things")
        );
        assert_eq!(warnings.len(), 1);
    }
}
