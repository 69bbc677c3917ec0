//! The registry docs under `docs/` match the schemas: every resource and
//! data source has a page whose generated "Schema" section is current.
//! `BERTH_UPDATE_DOCS=1` rewrites the sections instead of failing.

use std::path::PathBuf;

use terraform_provider_berth::BerthProvider;
use terraform_provider_berth::docs::update_page;
use tfplugin::provider::Provider;

fn docs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

#[test]
fn every_page_documents_the_current_schema() {
    let p = BerthProvider;
    let mut pages = Vec::new();
    for r in p.resources() {
        pages.push(("resources", r.type_name().to_string(), r.schema()));
    }
    for d in p.data_sources() {
        pages.push(("data-sources", d.type_name().to_string(), d.schema()));
    }
    let update = std::env::var_os("BERTH_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    let index = docs_dir().join("index.md");
    let page = std::fs::read_to_string(&index).expect("docs/index.md");
    let want = update_page(&page, &p.schema());
    if want != page {
        if update {
            std::fs::write(&index, want).expect("writes docs");
        } else {
            stale.push(index.display().to_string());
        }
    }
    for (kind, name, schema) in pages {
        let file = docs_dir()
            .join(kind)
            .join(format!("{}.md", name.trim_start_matches("berth_")));
        let page = std::fs::read_to_string(&file).unwrap_or_else(|_| {
            panic!("{} is missing: write its intro and example", file.display())
        });
        let want = update_page(&page, &schema);
        if want != page {
            if update {
                std::fs::write(&file, want).expect("writes docs");
            } else {
                stale.push(file.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date (run BERTH_UPDATE_DOCS=1 cargo test -p terraform-provider-berth --test docs): {stale:?}"
    );
}
