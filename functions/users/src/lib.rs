//! The user-management API of a typical Lambda guide, behind API Gateway:
//!
//! | route                 | does |
//! |-----------------------|------|
//! | `POST /auth/register` | `{email, password, name}` → 201 with the user (never the hash); 409 if the email is taken; 400 if invalid |
//! | `POST /auth/login`    | `{email, password}` → 200 `{token, expiresIn}`: a JWT (HS256, 24 h) signed with `JWT_SECRET`; 401 otherwise |
//! | `GET /users/me`       | `Authorization: Bearer <token>` → 200 with the user; 401 for a missing, invalid or expired token; 404 if the user is gone |
//!
//! Passwords are hashed with Argon2id. Users live in the key-value store
//! `users` (granted in the manifest): `user:<id>` holds the user as JSON,
//! `email:<address>` indexes it by email, and the counter `next-id` numbers
//! them. Every response is JSON with CORS headers.

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use hmac::{Hmac, Mac};
use jwt::{SignWithKey, VerifyWithKey};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Sha256;
use wasmfn_guest::events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use wasmfn_guest::events::http::Method;
use wasmfn_guest::kv::Store;
use wasmfn_guest::response::from_result;
use wasmfn_guest::{Context, Error, Response};

/// Tokens are valid for 24 hours.
pub const TOKEN_TTL_SECS: u64 = 24 * 60 * 60;

/// A stored user.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    /// `u-<n>`.
    pub id: String,
    /// The login, lowercase.
    pub email: String,
    /// The display name.
    pub name: String,
    /// Seconds since the epoch.
    pub created_at: u64,
    /// The Argon2id PHC string.
    password_hash: String,
}

impl User {
    /// The user as the API shows it: without the hash.
    fn public(&self) -> serde_json::Value {
        json!({"id": self.id, "email": self.email, "name": self.name, "createdAt": self.created_at})
    }
}

/// The function's settings.
#[derive(Deserialize)]
struct Config {
    jwt_secret: String,
}

/// The claims of a token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The user's email.
    pub email: String,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

#[derive(Deserialize)]
struct Register {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct Login {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// Routes one request.
#[wasmfn_guest::handler]
pub fn handler(
    event: ApiGatewayProxyRequest,
    _ctx: Context,
) -> Result<ApiGatewayProxyResponse, Error> {
    if event.http_method == Method::OPTIONS {
        return Ok(Response::no_content().cors().into());
    }
    Ok(from_result(route(&event)).cors().into())
}

fn route(event: &ApiGatewayProxyRequest) -> Result<Response, Error> {
    let path = event.path.as_deref().unwrap_or("/");
    match (&event.http_method, path.trim_end_matches('/')) {
        (&Method::POST, "/auth/register") => register(body(event)?),
        (&Method::POST, "/auth/login") => login(body(event)?),
        (&Method::GET, "/users/me") => me(event),
        (_, "/auth/register" | "/auth/login" | "/users/me") => {
            Err(Error::http(405, "method not allowed"))
        }
        _ => Err(Error::http(404, format!("no route for {path}"))),
    }
}

fn body<T: for<'de> Deserialize<'de>>(event: &ApiGatewayProxyRequest) -> Result<T, Error> {
    let text = event.body.as_deref().unwrap_or("");
    serde_json::from_str(text).map_err(|e| Error::http(400, format!("the body must be JSON: {e}")))
}

fn store() -> Result<Store, Error> {
    Store::open("users")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn register(request: Register) -> Result<Response, Error> {
    let email = request.email.trim().to_lowercase();
    if !email.contains('@') || email.starts_with('@') || email.ends_with('@') {
        return Err(Error::http(400, "`email` must be an email address"));
    }
    if request.password.chars().count() < 8 {
        return Err(Error::http(
            400,
            "`password` must have at least 8 characters",
        ));
    }
    if request.name.trim().is_empty() {
        return Err(Error::http(400, "`name` is required"));
    }
    let users = store()?;
    let index = format!("email:{email}");
    if users.exists(&index)? {
        return Err(Error::http(409, format!("{email} is already registered")));
    }
    let id = format!("u-{}", users.increment("next-id", 1)?);
    let user = User {
        id: id.clone(),
        email,
        name: request.name.trim().to_string(),
        created_at: now(),
        password_hash: hash(&request.password)?,
    };
    users.set_json(&format!("user:{id}"), &user)?;
    users.set(&index, id.as_bytes())?;
    log::info!(userId = id.as_str(); "user registered");
    Ok(Response::json(201, &user.public()))
}

fn login(request: Login) -> Result<Response, Error> {
    let denied = || Error::http(401, "invalid email or password");
    let users = store()?;
    let email = request.email.trim().to_lowercase();
    let id = users.get(&format!("email:{email}"))?.ok_or_else(denied)?;
    let id = String::from_utf8_lossy(&id).into_owned();
    let user: User = users.get_json(&format!("user:{id}"))?.ok_or_else(denied)?;
    if !verify(&request.password, &user.password_hash) {
        return Err(denied());
    }
    let iat = now();
    let claims = Claims {
        sub: user.id.clone(),
        email: user.email.clone(),
        iat,
        exp: iat + TOKEN_TTL_SECS,
    };
    let token = claims
        .sign_with_key(&key()?)
        .map_err(|e| Error::msg(format!("signing the token: {e}")))?;
    Ok(Response::json(
        200,
        &json!({"token": token, "expiresIn": TOKEN_TTL_SECS}),
    ))
}

fn me(event: &ApiGatewayProxyRequest) -> Result<Response, Error> {
    let header = event
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::http(401, "missing Authorization: Bearer <token>"))?;
    let token = header
        .strip_prefix("Bearer ")
        .ok_or_else(|| Error::http(401, "the Authorization header must be `Bearer <token>`"))?;
    let claims = verify_token(token, now())?;
    let user: User = store()?
        .get_json(&format!("user:{}", claims.sub))?
        .ok_or_else(|| Error::http(404, "the user no longer exists"))?;
    Ok(Response::json(200, &user.public()))
}

fn key() -> Result<Hmac<Sha256>, Error> {
    let config: Config = wasmfn_guest::config::from_env()?;
    Hmac::new_from_slice(config.jwt_secret.as_bytes())
        .map_err(|e| Error::msg(format!("JWT_SECRET: {e}")))
}

/// Checks a token's signature and expiry at time `now`.
pub fn verify_token(token: &str, now: u64) -> Result<Claims, Error> {
    let claims: Claims = token
        .verify_with_key(&key()?)
        .map_err(|_| Error::http(401, "invalid token"))?;
    if claims.exp <= now {
        return Err(Error::http(401, "the token has expired"));
    }
    Ok(claims)
}

fn hash(password: &str) -> Result<String, Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| Error::msg(format!("no randomness for a salt: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::msg(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::msg(format!("hashing the password: {e}")))
}

fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash("correct horse").unwrap();
        let b = hash("correct horse").unwrap();
        assert_ne!(a, b);
        assert!(verify("correct horse", &a));
        assert!(!verify("wrong horse", &a));
    }
}
