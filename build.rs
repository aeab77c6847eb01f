//! Embeds the shipped default model when `models/alexa.onnx` exists (see src/model/default.rs).

fn main() {
    println!("cargo:rerun-if-changed=models/alexa.onnx");
    println!("cargo:rerun-if-changed=models");
    if std::path::Path::new("models/alexa.onnx").is_file() {
        println!("cargo:rustc-cfg=hushword_default_model");
    }
}
