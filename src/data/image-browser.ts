// Image decoding in the browser for the dataset loaders: the browser's own decoders through
// createImageBitmap, with no premultiplication or colour conversion so pixels match what the
// Node decoders (pngjs, jpeg-js) return.
import { decodeHeif, isHeif } from './heif.ts';
import { DatasetError, type DecodedImage, type ImageDecoder } from './types.ts';

export const decodeImageBrowser: ImageDecoder = async (bytes: Uint8Array, path: string): Promise<DecodedImage> => {
  // HEIC: Chromium and Firefox have no decoder for it; libheif's, loaded on the first one.
  if (isHeif(bytes)) return decodeHeif(bytes, path);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { premultiplyAlpha: 'none', colorSpaceConversion: 'none' });
  } catch {
    throw new DatasetError(path, 'cannot be decoded as an image (PNG, JPEG, WebP or HEIC expected)');
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const g = canvas.getContext('2d', { willReadFrequently: true })!;
  g.drawImage(bitmap, 0, 0);
  const data = g.getImageData(0, 0, bitmap.width, bitmap.height).data;
  bitmap.close();
  return { width: canvas.width, height: canvas.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
};
