def test_ops_logs_in_and_sees_home(login_as):
    page = login_as("ops")
    assert page.locator("h1").inner_text() == "Home"
    assert "ops@browser.example.com" in page.locator(".who").inner_text()


def test_wrong_password_is_refused(app, live_server, page):
    page.goto(live_server.url("/login"))
    page.fill("input[name=email]", "nobody@example.com")
    page.fill("input[name=password]", "wrong-password")
    page.click("#login-submit")
    assert "Wrong email or password" in page.locator(".flash.error").inner_text()
