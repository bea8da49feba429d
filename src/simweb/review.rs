//! A simulated review site in the 食べログ review-list layout (the `tabelog` preset of
//! `data/sites/presets.toml` reads it): shops with ★ ratings, reviewer names, review titles
//! and dates, newest first, paginated with `?page=N`.
//!
//! `/rvwlst/` lists every shop's reviews (the source URL; each item names its shop),
//! `/shop/<n>/dtlrvwlst/` one shop's, `/shop/<n>/dtlrvwlst/B<id>/` one review (the permalink).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};

use super::sitekit::{RequestLog, escape, escape_lines, path_query, robots, text};
use super::{SimPost, SimSite};
use crate::model::jst;

/// Shop names (a post's thread picks one).
const SHOPS: &[&str] = &[
    "居酒屋 はなまる 渋谷店",
    "和食処 みやび",
    "カフェ こもれび",
    "ラーメン 一番星",
    "焼肉 炎々亭",
];
/// Review titles for benign and for risky reviews.
const TITLES_OK: &[&str] = &[
    "また行きたいお店",
    "ランチで利用",
    "普通においしい",
    "雰囲気◎",
    "コスパ良し",
];
const TITLES_BAD: &[&str] = &[
    "二度と行きません",
    "最悪でした",
    "がっかり",
    "注意してください",
];

#[derive(Debug, Clone)]
struct Review {
    seq: u64,
    shop: usize,
    author: String,
    author_id: String,
    title: String,
    text: String,
    rating: f32,
    at: DateTime<Utc>,
}

impl Review {
    fn id(&self) -> String {
        format!("B{:09}", self.seq)
    }

    fn permalink(&self) -> String {
        format!("/shop/{}/dtlrvwlst/{}/", self.shop, self.id())
    }
}

/// The simulated review site.
pub struct SimReview {
    page_size: usize,
    reviews: Mutex<Vec<Review>>,
    log: RequestLog,
}

impl Default for SimReview {
    fn default() -> Self {
        SimReview::new(20)
    }
}

impl SimReview {
    /// A site showing `page_size` reviews per page (食べログ shows 20; tests use a few).
    pub fn new(page_size: usize) -> Self {
        SimReview {
            page_size: page_size.max(1),
            reviews: Mutex::new(Vec::new()),
            log: RequestLog::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Review>> {
        self.reviews.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Requests served so far: `"<path?query> <status>"`.
    pub fn requests(&self) -> Vec<String> {
        self.log.entries()
    }

    /// The review id (`B000000012`) of an arrival.
    pub fn review_id(seq: u64) -> String {
        format!("B{seq:09}")
    }

    fn list(&self, shop: Option<usize>, page: usize, path: &str) -> Response {
        let all: Vec<Review> = {
            let reviews = self.lock();
            reviews
                .iter()
                .rev()
                .filter(|r| shop.is_none_or(|s| r.shop == s))
                .cloned()
                .collect()
        };
        let pages = all.len().div_ceil(self.page_size).max(1);
        if page == 0 || page > pages {
            self.log.record(path, 404);
            return (StatusCode::NOT_FOUND, "ページが見つかりません").into_response();
        }
        let items: Vec<&Review> = all
            .iter()
            .skip((page - 1) * self.page_size)
            .take(self.page_size)
            .collect();
        let heading = shop
            .and_then(|s| SHOPS.get(s))
            .copied()
            .unwrap_or("新着口コミ");
        let mut html = String::new();
        html.push_str(&format!(
            "<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n<meta charset=\"UTF-8\">\n<title>{} - 口コミ一覧 [食べログ風]</title>\n</head>\n<body class=\"rstdtl\">\n<div class=\"rstdtl-header\">\n  <div class=\"rdheader-rstname\"><h2 class=\"display-name\"><a href=\"/\"><span>{}</span></a></h2></div>\n</div>\n<div id=\"column-main\">\n<div class=\"rstdtl-rvwlst\">\n",
            escape(heading),
            escape(heading)
        ));
        for r in items {
            html.push_str(&render_item(r));
        }
        html.push_str("</div>\n<div class=\"c-pagination\">\n");
        if page > 1 {
            html.push_str(&format!("  <a class=\"c-pagination__arrow c-pagination__arrow--prev\" rel=\"prev\" href=\"?page={}\">前の{}件</a>\n", page - 1, self.page_size));
        }
        for p in 1..=pages {
            if p == page {
                html.push_str(&format!(
                    "  <span class=\"c-pagination__num is-current\">{p}</span>\n"
                ));
            } else {
                html.push_str(&format!(
                    "  <a class=\"c-pagination__num\" href=\"?page={p}\">{p}</a>\n"
                ));
            }
        }
        if page < pages {
            html.push_str(&format!("  <a class=\"c-pagination__arrow c-pagination__arrow--next\" rel=\"next\" href=\"?page={}\">次の{}件</a>\n", page + 1, self.page_size));
        }
        html.push_str("</div>\n</div>\n</body>\n</html>\n");
        self.log.record(path, 200);
        text("text/html; charset=UTF-8", html)
    }

    fn detail(&self, shop: usize, id: &str, path: &str) -> Response {
        let found = self
            .lock()
            .iter()
            .find(|r| r.shop == shop && r.id() == id)
            .cloned();
        let Some(r) = found else {
            self.log.record(path, 404);
            return (StatusCode::NOT_FOUND, "口コミが見つかりません").into_response();
        };
        self.log.record(path, 200);
        let shop_name = SHOPS.get(r.shop).copied().unwrap_or("");
        text(
            "text/html; charset=UTF-8",
            format!(
                "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"UTF-8\"><title>{} - {} [食べログ風]</title></head>\n<body><h2 class=\"display-name\">{}</h2>\n<div class=\"rstdtl-rvwlst\">\n{}</div></body></html>\n",
                escape(&r.title),
                escape(shop_name),
                escape(shop_name),
                render_item(&r)
            ),
        )
    }
}

fn stars(rating: f32) -> String {
    let full = rating.round().clamp(0.0, 5.0) as usize;
    format!("{}{}", "★".repeat(full), "☆".repeat(5 - full))
}

fn render_item(r: &Review) -> String {
    let shop = SHOPS.get(r.shop).copied().unwrap_or("");
    format!(
        r#"  <div class="rvw-item js-rvw-item-clickable-area" data-detail-url="{link}">
    <div class="rvw-item__rvwr-data">
      <p class="rvw-item__rvwr-name auth-mobile"><a href="/rvwr/{rid}/" target="_blank"><span><span>{author}</span></span></a></p>
    </div>
    <div class="rvw-item__contents">
      <p class="rvw-item__rst-name"><a href="/shop/{shop_no}/">{shop}</a></p>
      <div class="rvw-item__rvw-info">
        <ul class="rvw-item__ratings"><li class="rvw-item__ratings-item"><p class="c-rating-v3 rvw-item__ratings-total"><span class="c-rating-v3__time c-rating-v3__time--dinner">夜の点数</span><span class="c-rating-v3__stars">{stars}</span><b class="c-rating-v3__val">{rating:.1}</b></p></li></ul>
        <p class="rvw-item__date">{date} 投稿</p>
      </div>
      <div class="rvw-item__rvw-title"><p class="rvw-item__title"><a class="rvw-item__title-target" href="{link}">{title}</a></p></div>
      <div class="rvw-item__rvw-comment"><p>{body}</p></div>
    </div>
  </div>
"#,
        link = r.permalink(),
        rid = escape(&r.author_id.to_lowercase()),
        author = escape(&r.author),
        shop_no = r.shop,
        shop = escape(shop),
        stars = stars(r.rating),
        rating = r.rating,
        date = r.at.with_timezone(&jst()).format("%Y/%m/%d %H:%M"),
        title = escape(&r.title),
        body = escape_lines(&r.text),
    )
}

fn page_of(q: &HashMap<String, String>) -> usize {
    q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1)
}

async fn all_reviews(
    State(site): State<Arc<SimReview>>,
    OriginalUri(uri): OriginalUri,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    site.list(None, page_of(&q), &path_query(&uri))
}

async fn shop_reviews(
    State(site): State<Arc<SimReview>>,
    OriginalUri(uri): OriginalUri,
    Path(shop): Path<usize>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    site.list(Some(shop), page_of(&q), &path_query(&uri))
}

async fn review_detail(
    State(site): State<Arc<SimReview>>,
    OriginalUri(uri): OriginalUri,
    Path((shop, id)): Path<(usize, String)>,
) -> Response {
    site.detail(shop, &id, &path_query(&uri))
}

impl SimSite for SimReview {
    fn name(&self) -> &'static str {
        "review"
    }

    fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/robots.txt", get(|| async { robots() }))
            .route("/rvwlst/", get(all_reviews))
            .route("/shop/{shop}/dtlrvwlst/", get(shop_reviews))
            .route("/shop/{shop}/dtlrvwlst/{id}/", get(review_detail))
            .with_state(self)
    }

    fn add_post(&self, post: &SimPost) {
        let n = post.seq as usize;
        let (titles, rating) = if post.risky {
            (TITLES_BAD, 1.0 + (n % 2) as f32)
        } else {
            (TITLES_OK, 3.0 + (n % 5) as f32 * 0.5)
        };
        let review = Review {
            seq: post.seq,
            shop: post.thread % SHOPS.len(),
            author: post.author.clone(),
            author_id: post.author_id.clone(),
            title: titles[n % titles.len()].to_string(),
            text: post.text.clone(),
            rating,
            at: post.at,
        };
        self.lock().push(review);
    }

    fn delete_post(&self, seq: u64) -> bool {
        let mut reviews = self.lock();
        let before = reviews.len();
        reviews.retain(|r| r.seq != seq);
        reviews.len() != before
    }

    fn source_url(&self, addr: SocketAddr) -> String {
        format!("http://{addr}/rvwlst/")
    }

    fn source_kind(&self) -> &'static str {
        "html"
    }
}
