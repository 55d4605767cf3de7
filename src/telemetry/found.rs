//! A request's diagnostics, looked for once whoever asks: what the span,
//! the counters and the warnings (the reporter) share. In a file of its own
//! so that the reporter and the observer both import it, and neither the
//! other.

/// A request's diagnostics, found at most once whoever asks: the span,
/// the application's span, the counters and the warnings.
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) struct Found<'a> {
    request: crate::explain::Request<'a>,
    all: std::cell::Cell<Option<crate::explain::Findings>>,
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
impl<'a> Found<'a> {
    pub(crate) fn new(request: crate::explain::Request<'a>) -> Self {
        Found {
            request,
            all: std::cell::Cell::new(None),
        }
    }

    /// The request.
    #[cfg(feature = "tracing")]
    pub(crate) fn request(&self) -> &crate::explain::Request<'a> {
        &self.request
    }

    /// Every diagnostic the request shows.
    pub(crate) fn all(&self) -> crate::explain::Findings {
        if let Some(all) = self.all.get() {
            return all;
        }
        let all = crate::explain::find(&self.request, crate::explain::Findings::ALL);
        self.all.set(Some(all));
        all
    }

    /// The diagnostics among `wanted` the request shows: looked for
    /// alone, unless every one was found already.
    #[cfg(feature = "tracing")]
    pub(crate) fn among(&self, wanted: crate::explain::Findings) -> crate::explain::Findings {
        match self.all.get() {
            Some(all) => all.intersection(wanted),
            None => crate::explain::find(&self.request, wanted),
        }
    }
}
