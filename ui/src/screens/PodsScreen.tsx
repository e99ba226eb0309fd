export function PodsScreen() {
  return (
    <section data-testid="screen-pods" className="screen">
      <h1>Pods</h1>
      <div className="empty">
        <h2>No pods running</h2>
        <p>
          A pod is a GPU computer rented from RunPod by the second. When you render, the app starts
          one, uses it and shuts it down, and this screen lists it with its running cost so nothing
          keeps billing by accident.
        </p>
        <p className="muted">
          Starting and stopping pods from here is not available in this version yet.
        </p>
      </div>
    </section>
  );
}
