//! temp
fn main() {
    let path = std::env::args().nth(1).unwrap();
    let n = 50;
    let t = std::time::Instant::now();
    for _ in 0..n { std::hint::black_box(dsp::load_mono(&path, 22050).unwrap()); }
    println!("decode {:?}", t.elapsed() / n);
    let y = dsp::load_mono(&path, 22050).unwrap();
    let bank = dsp::MelFilterbank::slaney(22050, 2048, 128, 0.0, 11025.0);
    let spec = dsp::LogMelSpectrogram::new(2048, 512, bank, 1e-10, Some(80.0));
    let mut out = vec![0.0f32; 128 * 130];
    let t = std::time::Instant::now();
    for _ in 0..n { for i in 0..10 { spec.power(&y[i * 66150..(i + 1) * 66150], &mut out); } }
    println!("power {:?}", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n { for i in 0..10 { spec.decibels(&y[i * 66150..(i + 1) * 66150], &mut out); } }
    println!("power+db {:?}", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n { for _ in 0..10 { dsp::mel::standardize(&mut out, 1e-8); std::hint::black_box(&out); } }
    println!("std {:?}", t.elapsed() / n);
    let ex = dsp::FeatureExtractor::new(dsp::FeatureConfig::default()).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..n { std::hint::black_box(ex.extract(&path).unwrap()); }
    println!("extract {:?}", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n { std::hint::black_box(ex.extract_samples(&y, dsp::FeatureScale::Standardized)); }
    println!("extract_samples {:?}", t.elapsed() / n);
}
#[allow(dead_code)]
fn unused() {}
