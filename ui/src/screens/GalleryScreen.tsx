export function GalleryScreen({ onCreate }: { onCreate: () => void }) {
  return (
    <section data-testid="screen-gallery" className="screen">
      <h1>Gallery</h1>
      <div className="empty">
        <h2>No videos yet</h2>
        <p>
          Every video you render appears here with its thumbnail, the photo and dance it came from,
          the settings used, how long it took and what it cost. You will be able to play it, open its
          folder, or render it again with the same settings.
        </p>
        <button className="primary" onClick={onCreate}>
          Create your first video
        </button>
      </div>
    </section>
  );
}
