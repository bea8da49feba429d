fn main() {
    let d = mimamori::text::tokenize::load_dictionary().expect("dict");
    let seg = lindera::segmenter::Segmenter::new(lindera::mode::Mode::Normal, d, None);
    for mut t in seg.segment("山田商事の社員に殺されたい".into()).unwrap() {
        println!("{} {:?}", t.surface.clone(), t.details());
    }
}
