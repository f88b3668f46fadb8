//! Our metrics against scikit-learn's, on `fixtures/eval/metrics.json`
//! (made by `fixtures/make_eval_fixtures.py`).
#![allow(clippy::unwrap_used)] // a panic in a test is a failed test

use genre_eval::ClassificationReport;

#[test]
fn report_equals_scikit_learn() {
    let path = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
    .join("../../fixtures/eval/metrics.json");
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let ints =
        |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as usize).collect::<Vec<_>>();
    let floats = |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
    let classes = f["classes"].as_u64().unwrap() as usize;
    let report = ClassificationReport::new(&ints(&f["y_true"]), &ints(&f["y_pred"]), classes);
    let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
    assert!(close(report.accuracy, f["accuracy"].as_f64().unwrap()));
    let confusion: Vec<Vec<usize>> = f["confusion"].as_array().unwrap().iter().map(ints).collect();
    assert_eq!(report.confusion, confusion);
    assert_eq!(report.support, ints(&f["support"]));
    for (c, s) in report.per_class.iter().enumerate() {
        assert!(close(s.precision, floats(&f["precision"])[c]), "precision {c}");
        assert!(close(s.recall, floats(&f["recall"])[c]), "recall {c}");
        assert!(close(s.f1, floats(&f["f1"])[c]), "f1 {c}");
    }
    for (ours, key) in [(report.macro_avg, "macro"), (report.weighted_avg, "weighted")] {
        assert!(close(ours.precision, f[key]["precision"].as_f64().unwrap()), "{key}");
        assert!(close(ours.recall, f[key]["recall"].as_f64().unwrap()), "{key}");
        assert!(close(ours.f1, f[key]["f1"].as_f64().unwrap()), "{key}");
    }
    // Class 3 is never predicted: precision 0 by scikit-learn's zero_division=0.
    assert_eq!(report.per_class[3].precision, 0.0);
}
