//! Criterion micro-benchmarks of the hot paths: intake of one page, one frame of the 出荷指示
//! screen, one filter keystroke. `cargo bench --bench micro`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use shukka::engine::pipeline::{IntakeSetup, ingest_page};
use shukka::tui::app::{App, AppEvent};
use shukka::tui::text::{Lang, text};
use shukka::tui::theme::Theme;

fn key(c: char) -> AppEvent {
    AppEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let n = 20_000;
    let tmp = tempfile::tempdir().expect("tmp");
    let (engine, pages, sim) = rt.block_on(async {
        let sim = common::sim(n, 100).await;
        let engine = common::engine(tmp.path(), &sim, 0).await;
        let q = common::everything();
        let mut pager = engine
            .client(1)
            .expect("client")
            .search_orders(&q)
            .expect("pager");
        let mut pages = Vec::new();
        while let Some(p) = pager.next_page().await.expect("page") {
            pages.push(p.items);
        }
        (engine, pages, sim)
    });
    let setup = IntakeSetup::load(engine.store(), 1, common::converter(&engine)).expect("setup");
    let mut next = pages.into_iter();
    // Each iteration ingests a page not seen before (re-ingesting would only skip).
    c.bench_function("ingest one page of 100 orders", |b| {
        b.iter(|| {
            if let Some(p) = next.next() {
                ingest_page(
                    engine.store(),
                    &setup,
                    &p,
                    &[],
                    &Default::default(),
                    |_, _| Ok(()),
                )
                .expect("ingest");
            }
        })
    });
    let summaries = engine.store().summaries(None).expect("summaries");
    let mut app = App::new(text(Lang::Ja), Theme { color: true }, false);
    app.size = (200, 50);
    app.update(AppEvent::Summaries(Ok(summaries)));
    app.update(key('2'));
    let mut term = Terminal::new(TestBackend::new(200, 50)).expect("terminal");
    let mut i = 0u64;
    c.bench_function("render 出荷指示 200x50", |b| {
        b.iter(|| {
            i += 1;
            app.update(key(if i % 40 < 20 { 'j' } else { 'k' }));
            term.draw(|f| app.render(f)).expect("draw");
        })
    });
    app.update(key('/'));
    c.bench_function("filter keystroke", |b| {
        b.iter(|| {
            app.update(key('1'));
            app.update(AppEvent::Key(KeyEvent::new(
                KeyCode::Backspace,
                KeyModifiers::NONE,
            )));
        })
    });
    rt.block_on(sim.shutdown());
}

criterion_group! {
    name = micro;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(micro);
