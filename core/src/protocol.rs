//! Messages between the app and its Web Worker, defined once here so both sides agree.
//! Versioned: a worker built from other sources answers with an error, not garbage.

use serde::{Deserialize, Serialize};

pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    pub id: u64,
    pub version: u32,
    pub body: RequestBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RequestBody {
    /// Asks the worker what it can do (sent once at start-up).
    Hello,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub id: u64,
    pub body: Result<ResponseBody, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ResponseBody {
    Ready {
        worker_version: String,
        /// Whether the worker runs cross-origin isolated (SharedArrayBuffer available).
        cross_origin_isolated: bool,
    },
}

/// The worker's side: one request in, one response out.
pub fn handle(request: &Request, cross_origin_isolated: bool) -> Response {
    let body = if request.version != PROTOCOL_VERSION {
        Err(format!(
            "the app speaks protocol {} but this worker speaks {PROTOCOL_VERSION}; reload the page",
            request.version
        ))
    } else {
        match request.body {
            RequestBody::Hello => Ok(ResponseBody::Ready {
                worker_version: env!("CARGO_PKG_VERSION").to_string(),
                cross_origin_isolated,
            }),
        }
    };
    Response {
        id: request.id,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_through_json() {
        let request = Request {
            id: 7,
            version: PROTOCOL_VERSION,
            body: RequestBody::Hello,
        };
        let wire = serde_json::to_string(&request).unwrap();
        let back: Request = serde_json::from_str(&wire).unwrap();
        let response = handle(&back, true);
        assert_eq!(response.id, 7);
        assert!(matches!(
            response.body,
            Ok(ResponseBody::Ready {
                cross_origin_isolated: true,
                ..
            })
        ));
    }

    #[test]
    fn version_mismatch_is_an_error_not_a_crash() {
        let request = Request {
            id: 1,
            version: PROTOCOL_VERSION + 1,
            body: RequestBody::Hello,
        };
        let response = handle(&request, false);
        assert!(response.body.unwrap_err().contains("reload"));
    }
}
