//! Prints the Lindera tokens (surface, part of speech, subcategory, base form) of each
//! argument: `cargo run --example tok -- 山田商事の社員`. Handy when writing lexicon entries.

fn main() -> Result<(), mimamori::text::tokenize::TokenizeError> {
    for arg in std::env::args().skip(1) {
        for t in mimamori::text::tokenize::tokenize(&arg)? {
            print!("{}[{} {} {}] ", t.surface, t.pos, t.pos1, t.base);
        }
        println!();
    }
    Ok(())
}
