#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ping_oidc::fuzzing::flow_answers(data);
});
