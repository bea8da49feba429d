fn main() {
    for a in std::env::args().skip(1) {
        for t in mimamori::text::tokenize::tokenize(&a).unwrap() {
            print!("{}[{} {} {}] ", t.surface, t.pos, t.pos1, t.base);
        }
        println!();
    }
}
