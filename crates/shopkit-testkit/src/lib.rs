//! Port conformance suites.
