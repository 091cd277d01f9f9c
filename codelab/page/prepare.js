// Prepare a drawn digit the way MNIST digits were prepared: the same steps, with the
// same numbers, as prepare_digit() in predict.py (a test holds the two together):
// crop to the ink, fit into 20x20, place by its centre of mass in a 28x28 field.
"use strict";

const MnistPrepare = (() => {
  const INK_LEVEL = 0.5;          // only clear ink counts for the bounding box
  const NOISE_LEVEL = 0.25;       // paper, not ink: set to 0
  const MIN_INK_CONTRAST = 0.25;  // less than this from the paper: a blank page
  const DIGIT_BOX = 20;           // MNIST digits fit in a 20x20 box ...
  const FIELD = 28;               // ... in a 28x28 field, centre of mass at the centre

  // Python's round(): halves go to the even neighbour.
  function roundHalfEven(x) {
    const floor = Math.floor(x);
    const rest = x - floor;
    if (rest > 0.5) return floor + 1;
    if (rest < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  const clip01 = (x) => Math.min(1, Math.max(0, x));

  // RGBA pixels (a canvas's ImageData) -> grey levels in [0, 1], as Pillow's
  // convert("L") computes them (ITU-R 601 luma, in its integer form), transparent
  // pixels laid on white paper.
  function greyscale(imageData) {
    const { data, width, height } = imageData;
    const grey = new Float32Array(width * height);
    for (let i = 0; i < grey.length; i++) {
      const alpha = data[4 * i + 3] / 255;
      const [r, g, b] = [0, 1, 2].map(
        (c) => Math.round(data[4 * i + c] * alpha + 255 * (1 - alpha)));
      grey[i] = Math.floor((r * 19595 + g * 38470 + b * 7471 + 0x8000) / 65536) / 255;
    }
    return { grey, width, height };
  }

  function median(values) {
    const sorted = Float32Array.from(values).sort();
    const middle = sorted.length >> 1;
    return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  }

  // Pillow's resize with its bilinear filter: separable, first along the rows then
  // along the columns; when it shrinks, the filter widens so that every source pixel
  // counts (antialiasing). One direction: the weights of each output pixel.
  function bilinearWeights(inSize, outSize) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const support = filterScale;  // the triangle filter's support is 1
    const weights = [];
    for (let out = 0; out < outSize; out++) {
      const centre = (out + 0.5) * scale;
      const first = Math.max(Math.trunc(centre - support + 0.5), 0);
      const last = Math.min(Math.trunc(centre + support + 0.5), inSize);
      const w = [];
      let total = 0;
      for (let x = first; x < last; x++) {
        const distance = Math.abs((x - centre + 0.5) / filterScale);
        const weight = distance < 1 ? 1 - distance : 0;
        w.push(weight);
        total += weight;
      }
      weights.push({ first, w: w.map((v) => (total ? v / total : 0)) });
    }
    return weights;
  }

  function resize(pixels, width, height, newWidth, newHeight) {
    let rows = pixels;
    if (newWidth !== width) {
      const across = bilinearWeights(width, newWidth);
      rows = new Float32Array(newWidth * height);
      for (let y = 0; y < height; y++) {
        across.forEach(({ first, w }, x) => {
          let sum = 0;
          w.forEach((weight, k) => { sum += pixels[y * width + first + k] * weight; });
          rows[y * newWidth + x] = sum;
        });
      }
    }
    if (newHeight === height) return rows;
    const down = bilinearWeights(height, newHeight);
    const out = new Float32Array(newWidth * newHeight);
    down.forEach(({ first, w }, y) => {
      for (let x = 0; x < newWidth; x++) {
        let sum = 0;
        w.forEach((weight, k) => { sum += rows[(first + k) * newWidth + x] * weight; });
        out[y * newWidth + x] = sum;
      }
    });
    return out;
  }

  // ImageData -> Float32Array of 28*28 values in [0, 1], light ink on black as in
  // MNIST, row after row; null for a blank page.
  function prepareDigit(imageData) {
    let { grey, width, height } = greyscale(imageData);

    // 1. Ink light on dark: the paper (the median pixel) dark.
    let paper = median(grey);
    if (paper > 0.5) {
      grey = grey.map((v) => 1 - v);
      paper = 1 - paper;
    }
    // 2. Paper to 0, the darkest ink to 1.
    let darkest = 0;
    for (const v of grey) darkest = Math.max(darkest, v);
    const contrast = darkest - paper;
    if (contrast < MIN_INK_CONTRAST) return null;
    const ink = grey.map((v) => clip01((v - paper) / contrast));

    // 3. Crop to the clear ink's bounding box; what is near the paper becomes 0.
    let [top, bottom, left, right] = [height, -1, width, -1];
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        if (ink[y * width + x] >= INK_LEVEL) {
          top = Math.min(top, y); bottom = Math.max(bottom, y);
          left = Math.min(left, x); right = Math.max(right, x);
        }
      }
    }
    const boxWidth = right - left + 1;
    const boxHeight = bottom - top + 1;
    const cropped = new Float32Array(boxWidth * boxHeight);
    for (let y = 0; y < boxHeight; y++) {
      for (let x = 0; x < boxWidth; x++) {
        const v = ink[(top + y) * width + left + x];
        cropped[y * boxWidth + x] = clip01((v - NOISE_LEVEL) / (1 - NOISE_LEVEL));
      }
    }

    // 4. The longer side to 20 pixels, then the brightest pixel to 1.
    const scale = DIGIT_BOX / Math.max(boxWidth, boxHeight);
    const smallWidth = Math.max(1, roundHalfEven(boxWidth * scale));
    const smallHeight = Math.max(1, roundHalfEven(boxHeight * scale));
    const small = resize(cropped, boxWidth, boxHeight, smallWidth, smallHeight);
    let brightest = 0;
    for (const v of small) brightest = Math.max(brightest, v);
    for (let i = 0; i < small.length; i++) small[i] /= brightest;

    // 5. Into the 28x28 field, its centre of mass on the centre pixel (14, 14),
    //    shifted by whole pixels, stopped at the border.
    let [total, rowMoment, colMoment] = [0, 0, 0];
    for (let y = 0; y < smallHeight; y++) {
      for (let x = 0; x < smallWidth; x++) {
        const v = small[y * smallWidth + x];
        total += v; rowMoment += v * y; colMoment += v * x;
      }
    }
    const clipTo = (v, high) => Math.min(high, Math.max(0, v));
    const fieldTop = clipTo(roundHalfEven(FIELD / 2 - rowMoment / total), FIELD - smallHeight);
    const fieldLeft = clipTo(roundHalfEven(FIELD / 2 - colMoment / total), FIELD - smallWidth);
    const field = new Float32Array(FIELD * FIELD);
    for (let y = 0; y < smallHeight; y++) {
      for (let x = 0; x < smallWidth; x++) {
        field[(fieldTop + y) * FIELD + fieldLeft + x] = small[y * smallWidth + x];
      }
    }
    return field;
  }

  return { prepareDigit, FIELD };
})();
