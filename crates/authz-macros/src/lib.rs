//! `#[authorized]`: a field's authorization, declared once.
//!
//! Put `#[authorized]` above `#[Object]` on an impl block, and `#[auth(RULE, …)]` on each guarded
//! field, naming one or more `cognigraph_server::authz::Rule` constants (alternatives: any one
//! admits the caller). The attribute becomes the field's
//! `#[graphql(guard = …, directive = …)]`: the guard is `Policy::any_of(&[RULE, …])`, and each
//! rule is one `@auth` directive in the schema, so what runs and what the schema shows come from
//! the same constants. A field with `#[auth]` must not also carry its own `guard` or `directive`;
//! its other `#[graphql(…)]` arguments (e.g. `complexity`) are kept.
//!
//! ```ignore
//! #[authorized]
//! #[Object]
//! impl ProjectsQuery {
//!     #[auth(policies::READ_PROJECTS)]
//!     async fn projects(&self, ctx: &Context<'_>) -> Result<Option<Projects>> {
//!         unimplemented!()
//!     }
//! }
//! ```

#![warn(missing_docs)]

use proc_macro::TokenStream;
use quote::quote;
use syn::{
    Attribute, Expr, ImplItem, ItemImpl, Meta, Token, parse_macro_input, parse_quote,
    punctuated::Punctuated, spanned::Spanned as _,
};

/// Turns each `#[auth(RULE, …)]` in the impl block into the field's guard and directives.
#[proc_macro_attribute]
pub fn authorized(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr).span(),
            "#[authorized] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let mut item_impl = parse_macro_input!(item as ItemImpl);
    let mut errors = Vec::new();
    for impl_item in &mut item_impl.items {
        let ImplItem::Fn(method) = impl_item else {
            continue;
        };
        let (auth, others): (Vec<Attribute>, Vec<Attribute>) = method
            .attrs
            .drain(..)
            .partition(|attr| attr.path().is_ident("auth"));
        method.attrs = others;
        if let Some(second) = auth.get(1) {
            errors.push(syn::Error::new(
                second.span(),
                "one #[auth(…)] per field: list the alternatives in it",
            ));
            continue;
        }
        let Some(auth) = auth.first() else {
            continue;
        };
        if let Some(conflict) = method.attrs.iter().find(|attr| declares_guard(attr)) {
            errors.push(syn::Error::new(
                conflict.span(),
                "a field with #[auth] takes its guard and directives from it",
            ));
            continue;
        }
        let rules = match auth.parse_args_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(rules) if !rules.is_empty() => rules,
            Ok(_) => {
                errors.push(syn::Error::new(
                    auth.span(),
                    "#[auth] needs at least one rule",
                ));
                continue;
            }
            Err(error) => {
                errors.push(error);
                continue;
            }
        };
        let rules: Vec<&Expr> = rules.iter().collect();
        let guard = quote!(crate::authz::Policy::any_of(&[#(#rules),*])).to_string();
        let directives = rules.iter().map(|rule| {
            quote!(directive = crate::authz::auth::apply(
                #rule.requires_arg(),
                #rule.scope_arg(),
                #rule.tenant_arg(),
                #rule.authenticated_arg()
            ))
        });
        let arguments = quote!(guard = #guard, #(#directives),*);
        // async-graphql reads one `#[graphql(…)]` per field: join the field's own (e.g.
        // `complexity`) with the guard and directives.
        match method
            .attrs
            .iter_mut()
            .find(|attr| attr.path().is_ident("graphql"))
        {
            Some(Attribute {
                meta: Meta::List(list),
                ..
            }) => {
                let own = &list.tokens;
                list.tokens = quote!(#own, #arguments);
            }
            Some(other) => errors.push(syn::Error::new(
                other.span(),
                "expected #[graphql(…)] with arguments",
            )),
            None => method.attrs.push(parse_quote!(#[graphql(#arguments)])),
        }
    }
    let errors = errors.into_iter().map(|error| error.to_compile_error());
    quote!(#(#errors)* #item_impl).into()
}

/// Whether `attr` is a `#[graphql(…)]` that sets `guard` or `directive` itself.
fn declares_guard(attr: &Attribute) -> bool {
    if !attr.path().is_ident("graphql") {
        return false;
    }
    let Meta::List(list) = &attr.meta else {
        return false;
    };
    list.parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
        .is_ok_and(|metas| {
            metas
                .iter()
                .any(|meta| meta.path().is_ident("guard") || meta.path().is_ident("directive"))
        })
}
