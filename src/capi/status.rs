//! Status codes, the per-thread last error message, and the panic guard every C entry point
//! runs its body in.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What every `hushword_*` function returns (as an `int`).
///
/// Every status but `HUSHWORD_STATUS_OK` sets this thread's last error message (see
/// `hushword_last_error_message`), except `HUSHWORD_STATUS_NO_DETECTION` from `hushword_poll`,
/// which only says that nothing is pending.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HushwordStatus {
    /// Success.
    Ok = 0,
    /// `hushword_poll` found nothing pending, or no detection has been polled yet.
    NoDetection = 1,
    /// A required pointer argument was NULL.
    NullPointer = 2,
    /// A value is out of range or malformed (config field, keyword, UTF-8 path).
    InvalidArgument = 3,
    /// The model could not be read or loaded (bad bytes, missing metadata, wrong shape).
    Model = 4,
    /// An I/O error outside model loading.
    Io = 5,
    /// The caller's buffer is too small; the needed length was written to the length out-parameter.
    BufferTooSmall = 6,
    /// This build of the library has no embedded default model.
    NoDefaultModel = 7,
    /// An internal error (a caught panic): a bug. The detector involved may only be freed.
    Internal = 8,
}

/// An error on its way out through the C boundary: its status and message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: HushwordStatus,
    pub message: String,
}

impl Failure {
    pub fn new(status: HushwordStatus, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A NULL argument named `what`.
    pub fn null(what: &str) -> Self {
        Self::new(HushwordStatus::NullPointer, format!("`{what}` is NULL"))
    }
}

impl From<crate::Error> for Failure {
    fn from(error: crate::Error) -> Self {
        use crate::Error;
        let status = match &error {
            Error::Config(_) | Error::Audio(_) => HushwordStatus::InvalidArgument,
            Error::Model { .. } | Error::Profile { .. } => HushwordStatus::Model,
            Error::File { .. } | Error::Io(_) => HushwordStatus::Io,
        };
        Self::new(status, error.to_string())
    }
}

/// What a body returns: a non-error status (`Ok`, `NoDetection`) or a failure.
pub(crate) type Outcome = Result<HushwordStatus, Failure>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Runs `body` for the C function `function`, turning failures and panics into a status and
/// this thread's last error message. No panic unwinds past this point.
pub(crate) fn guard(function: &str, body: impl FnOnce() -> Outcome) -> c_int {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => return status as c_int,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::new(
            HushwordStatus::Internal,
            format!("internal error (panic): {}", panic_text(&*payload)),
        ),
    };
    set_last_error(&format!("{function}: {}", failure.message));
    failure.status as c_int
}

fn panic_text(payload: &(dyn Any + Send)) -> &str {
    if let Some(text) = payload.downcast_ref::<&str>() {
        text
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text
    } else {
        "no message"
    }
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|last| *last.borrow_mut() = text);
}

/// The message of the last failing `hushword_*` call on the calling thread, as a
/// NUL-terminated UTF-8 string naming the function, the value and the problem ("" if none
/// failed yet). Successful calls leave it unchanged. The pointer stays valid until the next
/// failing call on this thread; never free it.
#[no_mangle]
pub extern "C" fn hushword_last_error_message() -> *const c_char {
    catch_unwind(|| {
        LAST_ERROR
            .try_with(|last| last.borrow().as_ptr())
            .unwrap_or(c"".as_ptr())
    })
    .unwrap_or(c"".as_ptr())
}

/// A static name for a status code ("HUSHWORD_STATUS_OK", ...), "HUSHWORD_STATUS_UNKNOWN"
/// for a value that is none of them. Never free it.
#[no_mangle]
pub extern "C" fn hushword_status_name(status: c_int) -> *const c_char {
    let name = match status {
        0 => c"HUSHWORD_STATUS_OK",
        1 => c"HUSHWORD_STATUS_NO_DETECTION",
        2 => c"HUSHWORD_STATUS_NULL_POINTER",
        3 => c"HUSHWORD_STATUS_INVALID_ARGUMENT",
        4 => c"HUSHWORD_STATUS_MODEL",
        5 => c"HUSHWORD_STATUS_IO",
        6 => c"HUSHWORD_STATUS_BUFFER_TOO_SMALL",
        7 => c"HUSHWORD_STATUS_NO_DEFAULT_MODEL",
        8 => c"HUSHWORD_STATUS_INTERNAL",
        _ => c"HUSHWORD_STATUS_UNKNOWN",
    };
    name.as_ptr()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: the pointer comes from this thread's CString.
        unsafe { CStr::from_ptr(hushword_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let status = guard("probe", || panic!("boom"));
        assert_eq!(status, HushwordStatus::Internal as c_int);
        assert_eq!(last(), "probe: internal error (panic): boom");
    }

    #[test]
    fn success_keeps_the_previous_message() {
        guard("first", || Err(Failure::null("x")));
        assert_eq!(guard("second", || Ok(HushwordStatus::Ok)), 0);
        assert_eq!(last(), "first: `x` is NULL");
    }

    #[test]
    fn status_names_match_the_header() {
        for (status, name) in [
            (HushwordStatus::Ok, "HUSHWORD_STATUS_OK"),
            (
                HushwordStatus::BufferTooSmall,
                "HUSHWORD_STATUS_BUFFER_TOO_SMALL",
            ),
            (HushwordStatus::Internal, "HUSHWORD_STATUS_INTERNAL"),
        ] {
            // SAFETY: static NUL-terminated strings.
            let got = unsafe { CStr::from_ptr(hushword_status_name(status as c_int)) };
            assert_eq!(got.to_str().unwrap(), name);
        }
        // SAFETY: as above.
        let unknown = unsafe { CStr::from_ptr(hushword_status_name(99)) };
        assert_eq!(unknown.to_str().unwrap(), "HUSHWORD_STATUS_UNKNOWN");
    }
}
