//! Caption sprites for export: each caption state (a page, and which word is highlighted) is
//! drawn once on an `OffscreenCanvas` with the preview's own drawing code, only the band of
//! rows it covers is read back, and `reelsmith_core::pixels::Sprite` turns it into
//! premultiplied YUV that is blended into every frame showing that state.

use reelsmith_core::captions::{layout, page_at, CaptionPage, CaptionStyle, FONT_FACES};
use reelsmith_core::edit::Crop;
use reelsmith_core::pixels::Sprite;
use reelsmith_core::transcript::Word;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::blob_source::js_error_text;
use crate::caption_draw::{draw_page, page_rows, CanvasMeasure};

/// Loads the caption fonts into this worker (a worker has its own font set): every bundled
/// file, with the letters it covers, as the page's style sheet declares them — all of them
/// before drawing, since canvas text does not wait for a font.
pub async fn load_fonts() -> Result<(), String> {
    let fonts =
        js_sys::Reflect::get(&js_sys::global(), &"fonts".into()).map_err(|e| js_error_text(&e))?;
    let add: js_sys::Function = js_sys::Reflect::get(&fonts, &"add".into())
        .map_err(|e| js_error_text(&e))?
        .dyn_into()
        .map_err(|_| "This browser cannot load fonts in a worker.".to_string())?;
    for face in FONT_FACES {
        let descriptors = web_sys::FontFaceDescriptors::new();
        descriptors.set_weight(&face.weight.to_string());
        descriptors.set_unicode_range(face.unicode_range);
        let source = format!("url(fonts/{})", face.file);
        let family = face.family;
        let face = web_sys::FontFace::new_with_str_and_descriptors(family, &source, &descriptors)
            .map_err(|e| js_error_text(&e))?;
        let loading = face.load().map_err(|e| js_error_text(&e))?;
        JsFuture::from(loading).await.map_err(|e| {
            format!(
                "The caption font {family} could not be loaded: {}",
                js_error_text(&e)
            )
        })?;
        add.call1(&fonts, &face).map_err(|e| js_error_text(&e))?;
    }
    Ok(())
}

pub struct Sprites {
    ctx: web_sys::OffscreenCanvasRenderingContext2d,
    style: CaptionStyle,
    pages: Vec<CaptionPage>,
    width: u32,
    height: u32,
    /// The state the cached sprite shows: (page index, highlighted word).
    key: Option<(usize, Option<(usize, usize)>)>,
    sprite: Option<Sprite>,
    /// Caption states drawn so far.
    pub drawn: usize,
}

impl Sprites {
    /// Lays the clip's words out into pages for a `width`×`height` output.
    pub fn new(
        words: &[Word],
        style: CaptionStyle,
        width: u32,
        height: u32,
    ) -> Result<Self, String> {
        let canvas = web_sys::OffscreenCanvas::new(width, height).map_err(|e| js_error_text(&e))?;
        let ctx: web_sys::OffscreenCanvasRenderingContext2d = canvas
            .get_context("2d")
            .map_err(|e| js_error_text(&e))?
            .ok_or("This browser cannot draw captions in a worker.")?
            .unchecked_into();
        let pages = layout(words, &style, f64::from(width), &CanvasMeasure(&ctx));
        Ok(Self {
            ctx,
            style,
            pages,
            width,
            height,
            key: None,
            sprite: None,
            drawn: 0,
        })
    }

    fn area(&self) -> Crop {
        Crop {
            x: 0.0,
            y: 0.0,
            width: f64::from(self.width),
            height: f64::from(self.height),
        }
    }

    /// The sprite to blend at source time `t` (seconds), drawing it if the state changed.
    pub fn at(&mut self, t: f64) -> Result<Option<&Sprite>, String> {
        let Some(page) = page_at(&self.pages, t) else {
            self.key = None;
            self.sprite = None;
            return Ok(None);
        };
        let index = self.pages.partition_point(|p| p.start_secs <= t) - 1;
        let current = if self.style.highlight.is_some() {
            page.current_word(t)
        } else {
            None
        };
        let key = (index, current);
        if self.key != Some(key) {
            self.sprite = self.draw(page, t)?;
            self.key = Some(key);
            self.drawn += 1;
        }
        Ok(self.sprite.as_ref())
    }

    fn draw(&self, page: &CaptionPage, t: f64) -> Result<Option<Sprite>, String> {
        let area = self.area();
        let (top, bottom) = page_rows(page, &self.style, area);
        let top = top.floor().max(0.0) as u32;
        let bottom = (bottom.ceil() as u32).min(self.height);
        if bottom <= top {
            return Ok(None);
        }
        self.ctx.clear_rect(
            0.0,
            f64::from(top),
            f64::from(self.width),
            f64::from(bottom - top),
        );
        draw_page(&self.ctx, page, &self.style, t, area);
        let band = self
            .ctx
            .get_image_data(0, top as i32, self.width as i32, (bottom - top) as i32)
            .map_err(|e| js_error_text(&e))?;
        let rgba = band.data();
        Ok(Sprite::from_rgba(
            &rgba,
            self.width,
            bottom - top,
            0,
            top as i32,
            self.width,
            self.height,
        ))
    }
}
