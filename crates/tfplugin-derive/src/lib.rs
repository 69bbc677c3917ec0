//! `#[derive(Model)]`: implements `tfplugin::model::{FromValue, ToValue,
//! Model}` for a struct with named fields, one attribute (or nested block)
//! per field, named like the field (`r#type` is `type`), or as
//! `#[model(name = "…")]` says.
//!
//! The generated reader reads every field, so one decode reports every
//! attribute that does not fit, each at its own path; the writer writes
//! every field, so a model that covers the schema round-trips a value
//! exactly (`tfplugin::model::assert_covers` checks that it does).

use proc_macro::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr, parse_macro_input};

/// Derives `FromValue`, `ToValue` and `Model` for a struct with named
/// fields. Each field's type implements `FromValue` and `ToValue`.
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(&input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn attribute_name(field: &syn::Field) -> syn::Result<String> {
    let mut name = None;
    for attr in &field.attrs {
        if !attr.path().is_ident("model") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("name") {
                let lit: LitStr = meta.value()?.parse()?;
                name = Some(lit.value());
                Ok(())
            } else {
                Err(meta.error("unknown model option; expected `name = \"…\"`"))
            }
        })?;
    }
    match name {
        Some(n) => Ok(n),
        None => Ok(field
            .ident
            .as_ref()
            .map(|i| i.to_string().trim_start_matches("r#").to_string())
            .unwrap_or_default()),
    }
}

fn expand(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            input,
            "derive(Model) works on structs with named fields",
        ));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(syn::Error::new_spanned(
            input,
            "derive(Model) works on structs with named fields",
        ));
    };
    let ty = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut idents = Vec::new();
    let mut names = Vec::new();
    let mut types = Vec::new();
    for f in &fields.named {
        idents.push(f.ident.clone());
        names.push(attribute_name(f)?);
        types.push(f.ty.clone());
    }
    let tmp: Vec<_> = idents
        .iter()
        .map(|i| {
            let i = i.as_ref().map(|i| i.to_string()).unwrap_or_default();
            quote::format_ident!("__f_{}", i.trim_start_matches("r#"))
        })
        .collect();
    Ok(quote! {
        impl #impl_generics ::tfplugin::model::FromValue for #ty #ty_generics #where_clause {
            fn from_value(
                __tf_value: &::tfplugin::value::Value,
                __tf_path: &::tfplugin::path::AttributePath,
                __tf_diags: &mut ::tfplugin::diag::Diagnostics,
            ) -> ::core::option::Option<Self> {
                let __tf_obj = ::tfplugin::model::object_of(__tf_value, __tf_path, __tf_diags)?;
                #(
                    let #tmp = <#types as ::tfplugin::model::FromValue>::from_value(
                        ::tfplugin::model::attribute_of(__tf_obj, #names),
                        &__tf_path.then_attr(#names),
                        __tf_diags,
                    );
                )*
                ::core::option::Option::Some(#ty { #( #idents: #tmp?, )* })
            }
        }
        impl #impl_generics ::tfplugin::model::ToValue for #ty #ty_generics #where_clause {
            fn to_value(&self) -> ::tfplugin::value::Value {
                ::tfplugin::value::Value::Object(::std::collections::BTreeMap::from([
                    #( (::std::string::String::from(#names),
                        ::tfplugin::model::ToValue::to_value(&self.#idents)), )*
                ]))
            }
            fn is_wholly_known(&self) -> bool {
                true #( && ::tfplugin::model::ToValue::is_wholly_known(&self.#idents) )*
            }
        }
        impl #impl_generics ::tfplugin::model::Model for #ty #ty_generics #where_clause {
            const ATTRIBUTES: &'static [&'static str] = &[#( #names ),*];
        }
    })
}
