document.getElementById("app").innerHTML = "<h1>crowdiff</h1><p>The web page is being built.</p>";
