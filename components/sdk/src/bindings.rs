//! The only `wit_bindgen::generate!` calls: one module per world of
//! `sluice:pipeline@0.1.0`, all sharing the `types` interface generated in
//! [`row_transform`], so a `Batch` is the same Rust type in every world.

// The generated glue is unsafe FFI by nature; it is the one place allowed to be.
#![allow(unsafe_code)]

/// Bindings for the `row-transform` world; also home of the shared types.
pub mod row_transform {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "row-transform",
        pub_export_macro: true,
        export_macro_name: "export_row_transform_world",
        additional_derives: [PartialEq, Eq],
    });
}

/// Bindings for the `formatter` world.
pub mod formatter {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "formatter",
        pub_export_macro: true,
        export_macro_name: "export_formatter_world",
        with: {
            "sluice:pipeline/types@0.1.0": crate::bindings::row_transform::sluice::pipeline::types,
        },
    });
}

/// Bindings for the `byte-transform` world.
pub mod byte_transform {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "byte-transform",
        pub_export_macro: true,
        export_macro_name: "export_byte_transform_world",
        with: {
            "sluice:pipeline/types@0.1.0": crate::bindings::row_transform::sluice::pipeline::types,
        },
    });
}
