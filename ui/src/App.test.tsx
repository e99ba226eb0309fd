import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { App } from "./App";
import { fakeBackend } from "./testing";

afterEach(() => cleanup());

describe("App", () => {
  it("shows the four screens and switches between them", async () => {
    fakeBackend({});
    render(<App />);
    expect(screen.getByTestId("screen-create")).toBeTruthy();
    for (const id of ["gallery", "pods", "settings", "create"]) {
      fireEvent.click(screen.getByTestId(`nav-${id}`));
      expect(screen.getByTestId(`screen-${id}`)).toBeTruthy();
    }
    fireEvent.click(screen.getByTestId("nav-gallery"));
    expect(await screen.findByText("No videos yet")).toBeTruthy();
  });

  it("saves a key and afterwards shows only its last four characters", async () => {
    const { calls } = fakeBackend({});
    render(<App />);
    fireEvent.click(screen.getByTestId("nav-settings"));
    const input = await screen.findByTestId("key-input");
    fireEvent.change(input, { target: { value: "rpa_SECRET_KEY_9876" } });
    fireEvent.click(screen.getByTestId("key-save"));
    const mask = await screen.findByTestId("key-mask");
    expect(mask.textContent).toContain("9876");
    expect(document.body.textContent).not.toContain("SECRET");
    expect(calls.filter((c) => c.cmd === "save_api_key")).toHaveLength(1);
    fireEvent.click(screen.getByTestId("key-remove"));
    await screen.findByTestId("key-input");
  });

  it("shows the backend's message when saving preferences fails", async () => {
    fakeBackend({}, (cmd) => {
      if (cmd === "save_settings") throw { code: "settings.no_gpu", message: "Choose at least one GPU type for your pods." };
      return undefined;
    });
    render(<App />);
    fireEvent.click(screen.getByTestId("nav-settings"));
    fireEvent.click(await screen.findByTestId("settings-save"));
    await waitFor(() => expect(screen.getByTestId("settings-error").textContent).toContain("at least one GPU"));
  });

  it("shows the preferences after a short wait when the keychain does not answer (locked)", async () => {
    fakeBackend({}, (cmd) => (cmd === "get_key_status" ? new Promise(() => undefined) : undefined));
    render(<App />);
    fireEvent.click(screen.getByTestId("nav-settings"));
    expect(screen.getByTestId("settings-loading")).toBeTruthy();
    expect(await screen.findByTestId("preferences-section", {}, { timeout: 4000 })).toBeTruthy();
    expect(screen.getByTestId("key-loading").textContent).toContain("unlock");
  });
});
