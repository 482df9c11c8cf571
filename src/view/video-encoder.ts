// Video files in the browser: frames (RGBA bytes) encoded with WebCodecs and muxed by mediabunny.
// MP4 with H.264 (or AV1) where the browser can encode it, which every player opens; WebM with VP9
// (or VP8) otherwise. The codec is chosen by asking the browser, never assumed.
import {
  BufferTarget,
  canEncodeVideo,
  Mp4OutputFormat,
  Output,
  QUALITY_HIGH,
  type VideoCodec,
  VideoSample,
  VideoSampleSource,
  WebMOutputFormat,
} from 'mediabunny';

export interface VideoFormat {
  container: 'mp4' | 'webm';
  codec: VideoCodec;
  extension: '.mp4' | '.webm';
  mime: string;
}

const CANDIDATES: VideoFormat[] = [
  { container: 'mp4', codec: 'avc', extension: '.mp4', mime: 'video/mp4' },
  { container: 'mp4', codec: 'av1', extension: '.mp4', mime: 'video/mp4' },
  { container: 'webm', codec: 'vp9', extension: '.webm', mime: 'video/webm' },
  { container: 'webm', codec: 'vp8', extension: '.webm', mime: 'video/webm' },
];

/** The first format this browser can encode at this size, or null (no WebCodecs, or no encoder). */
export async function videoFormatFor(width: number, height: number, fps: number, prefer?: 'mp4' | 'webm'): Promise<VideoFormat | null> {
  if (typeof VideoEncoder === 'undefined') return null;
  const order = prefer ? [...CANDIDATES.filter((c) => c.container === prefer), ...CANDIDATES.filter((c) => c.container !== prefer)] : CANDIDATES;
  for (const f of order) {
    if (await canEncodeVideo(f.codec, { width, height, frameRate: fps, quality: QUALITY_HIGH }).catch(() => false)) return f;
  }
  return null;
}

/** A video being written: frames are added in order, then `finish` gives the file's bytes. */
export class VideoWriter {
  private constructor(
    private readonly output: Output<Mp4OutputFormat | WebMOutputFormat, BufferTarget>,
    private readonly source: VideoSampleSource,
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    readonly format: VideoFormat,
  ) {}

  /** `rotation`: the turn (clockwise) a player applies to the stored frames, as a phone held upright records. */
  static async open(width: number, height: number, fps: number, format: VideoFormat, rotation: 0 | 90 | 180 | 270 = 0): Promise<VideoWriter> {
    const output = new Output({
      format: format.container === 'mp4' ? new Mp4OutputFormat({ fastStart: 'in-memory' }) : new WebMOutputFormat(),
      target: new BufferTarget(),
    });
    const source = new VideoSampleSource({ codec: format.codec, quality: QUALITY_HIGH, keyFrameInterval: 2 });
    output.addVideoTrack(source, { frameRate: fps, rotation });
    await output.start();
    return new VideoWriter(output, source, width, height, fps, format);
  }

  /** Encodes frame `index` (RGBA, width×height). Resolves when the encoder can take the next. */
  async add(rgba: Uint8Array, index: number): Promise<void> {
    const sample = new VideoSample(rgba as Uint8Array<ArrayBuffer>, {
      format: 'RGBA',
      codedWidth: this.width,
      codedHeight: this.height,
      timestamp: index / this.fps,
      duration: 1 / this.fps,
    });
    try {
      await this.source.add(sample);
    } finally {
      sample.close();
    }
  }

  /** Closes the file and returns its bytes. */
  async finish(): Promise<Uint8Array> {
    this.source.close();
    await this.output.finalize();
    const buffer = this.output.target.buffer;
    if (!buffer) throw new Error('the video encoder produced no file');
    return new Uint8Array(buffer);
  }

  /** Abandons the file (a cancelled render). */
  async cancel(): Promise<void> {
    await this.output.cancel();
  }
}
