//! The staff web app (`web/`), built into `web/dist` and embedded in the
//! binary: served at `/app/` from the API's own origin, so there is no second
//! server, no CDN and no cross-origin request.
//!
//! Hashed assets (`/app/assets/…`) are cached for a year; everything else is
//! revalidated by ETag, so a new release is picked up on the next load. The
//! build writes a gzipped copy of each text file (`<file>.gz`), sent to
//! browsers that accept gzip: nothing is compressed per request. Any
//! other path under `/app/` is one of the app's own routes and gets
//! `index.html`. Every answer carries a strict Content-Security-Policy: the
//! app runs only its own scripts and styles and talks only to this origin.

use std::borrow::Cow;

use actix_web::http::header::{self, ContentType, HeaderValue};
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::{Embed, EmbeddedFile};

#[derive(Embed)]
#[folder = "../web/dist/"]
struct Dist;

/// What the app may load and where it may connect. `'self'` covers the
/// stream's `ws:`/`wss:` on the same host (CSP level 3).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; \
     base-uri 'none'; frame-ancestors 'none'; form-action 'self'; object-src 'none'";

/// The page every app route starts from.
const INDEX: &str = "index.html";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/app", web::get().to(to_app))
        .route("/app/{path:.*}", web::get().to(serve))
        .route("/app/{path:.*}", web::head().to(serve));
}

/// `/app` → `/app/`: the app's relative URLs and its service worker's scope
/// are under the slash.
async fn to_app() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/app/"))
        .finish()
}

async fn serve(request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match find(&path) {
        Some((name, file)) => {
            let gzipped = Dist::get(&format!("{name}.gz")).filter(|_| accepts_gzip(&request));
            respond(&request, &name, &file, gzipped.as_ref())
        }
        None => HttpResponse::NotFound()
            .insert_header(ContentType::plaintext())
            .body("no such file in the web app"),
    }
}

/// The file for `path`: itself when it exists; `index.html` for the app's
/// routes (paths with no file extension); nothing for a missing asset, so a
/// stale hashed name is a 404 and not a page parsed as a script.
fn find(path: &str) -> Option<(String, EmbeddedFile)> {
    if let Some(file) = Dist::get(path).filter(|_| !path.is_empty()) {
        return Some((path.to_owned(), file));
    }
    let last = path.rsplit('/').next().unwrap_or_default();
    if path.starts_with("assets/") || last.contains('.') {
        return None;
    }
    Dist::get(INDEX).map(|file| (INDEX.to_owned(), file))
}

/// `file` (named `name`), or its `gzipped` copy when there is one to send.
fn respond(
    request: &HttpRequest,
    name: &str,
    file: &EmbeddedFile,
    gzipped: Option<&EmbeddedFile>,
) -> HttpResponse {
    let sent = gzipped.unwrap_or(file);
    let etag = format!("\"{}\"", hex(&sent.metadata.sha256_hash()[..16]));
    let cache = if name.starts_with("assets/") {
        // Named by their content hash: they never change.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let unchanged = not_modified(request, &etag);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::VARY, "Accept-Encoding"));
    if gzipped.is_some() {
        response.insert_header((header::CONTENT_ENCODING, "gzip"));
    }
    if unchanged {
        return response.finish();
    }
    let mime = HeaderValue::from_str(file.metadata.mimetype())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    // Embedded files are borrowed for the program's life: sent without a copy.
    let body = match sent.data.clone() {
        Cow::Borrowed(bytes) => Bytes::from_static(bytes),
        Cow::Owned(bytes) => Bytes::from(bytes),
    };
    response.insert_header((header::CONTENT_TYPE, mime)).body(body)
}

fn not_modified(request: &HttpRequest, etag: &str) -> bool {
    request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag))
}

/// Whether the request's `Accept-Encoding` admits gzip (not as `q=0`).
fn accepts_gzip(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::ACCEPT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|codings| {
            codings.split(',').any(|coding| {
                let mut parts = coding.split(';').map(str::trim);
                parts.next() == Some("gzip") && !parts.any(|param| param.replace(' ', "") == "q=0")
            })
        })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_routes_get_the_page_and_missing_files_do_not() {
        assert_eq!(find("").map(|(name, _)| name).as_deref(), Some(INDEX));
        assert_eq!(
            find("stores/1/orders").map(|(name, _)| name).as_deref(),
            Some(INDEX)
        );
        assert!(find("assets/gone-1234.js").is_none());
        assert!(find("favicon.ico").is_none());
        assert_eq!(find(INDEX).map(|(name, _)| name).as_deref(), Some(INDEX));
    }
}
