// Saving bytes from the page: the browser's save dialog or its downloads folder.

/** Offers bytes as a download (the browser's save dialog or downloads folder). */
export function download(data: Blob, name: string): void {
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
