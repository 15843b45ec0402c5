"""The service's page in headless Chromium: upload a catalogue photo, see the products."""

import base64
import shutil

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from serving.app import create_app
from tests.background_server import serve_in_background
from tests.headless_chromium import chromium_driver, full_page_screenshot
from tests.tiny_catalogue import COLOURS, png_bytes

SHARED_SCREENSHOT = "/tmp/sicot_service_page.png"

DROP_FILE_JS = """
const [zone, b64, name] = arguments;
const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
const transfer = new DataTransfer();
transfer.items.add(new File([bytes], name, {type: "image/png"}));
for (const type of ["dragenter", "dragover", "drop"]) {
  zone.dispatchEvent(new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer}));
}
"""


def test_uploading_a_photo_shows_the_recognised_products(saved_model_backend, run_index, tmp_path):
    photo = tmp_path / "blue_query.png"
    photo.write_bytes(png_bytes(COLOURS["blue"], size=(120, 90)))
    not_a_photo = tmp_path / "notes.txt"
    not_a_photo.write_text("this is not an image")
    with serve_in_background(create_app(saved_model_backend, run_index)) as url, chromium_driver() as driver:
        driver.get(url + "/")
        assert driver.title == "sicot: product recognition"
        driver.find_element(By.ID, "file").send_keys(str(photo))
        wait = WebDriverWait(driver, 30)
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#results .result")))
        rows = driver.find_elements(By.CSS_SELECTOR, "#results .result")
        assert [r.get_attribute("data-sku") for r in rows][0] == "blue"
        assert len(rows) == 3
        first = rows[0].text
        assert "blue thing number 0" in first and "colour" in first and "%" in first
        assert driver.find_element(By.ID, "model").text.startswith("model version ")
        assert driver.find_element(By.ID, "preview-img").get_attribute("naturalWidth") == "120"
        # The catalogue image of each product (the tiny catalogue's are 12x10).
        wait.until(lambda d: rows[0].find_element(By.CSS_SELECTOR, "img.thumb").get_attribute("naturalWidth") == "12")
        full_page_screenshot(driver, str(tmp_path / "page.png"))
        shutil.copyfile(tmp_path / "page.png", SHARED_SCREENSHOT)
        # A file that is not an image: the service's message, no results.
        driver.find_element(By.ID, "file").send_keys(str(not_a_photo))
        wait.until(EC.text_to_be_present_in_element((By.ID, "status"), "Not recognised"))
        assert "not an image" in driver.find_element(By.ID, "status").text
        assert driver.find_elements(By.CSS_SELECTOR, "#results .result") == []
        # A photo dropped on the drop zone (a drop event carrying the file, as a browser sends it).
        driver.execute_script(DROP_FILE_JS, driver.find_element(By.ID, "drop"),
                              base64.b64encode(png_bytes(COLOURS["red"], size=(50, 40))).decode(), "dropped.png")
        wait.until(EC.text_to_be_present_in_element((By.ID, "preview-name"), "dropped.png"))
        wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "#results .result")))
        assert driver.find_elements(By.CSS_SELECTOR, "#results .result")[0].get_attribute("data-sku") == "red"
